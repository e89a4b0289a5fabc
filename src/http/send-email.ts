import type { Context } from "hono";
import type { EmailKind } from "../email/message.ts";
import { renderEmail, type TemplateInput } from "../email/templates.ts";
import { loggableError } from "../lib/safe-error.ts";
import type { AppEnv } from "./app-env.ts";

/**
 * A send's error as it may be logged: mail servers echo addresses in their refusals
 * ("550 5.1.1 <ada@example.com>: Recipient address rejected"), and logs hold no addresses.
 */
function loggableSendError(error: unknown) {
  const { error: message, stack, ...rest } = loggableError(error);
  const hide = (text: string) =>
    text.replace(/[^\s<>"'(),;:/\\@]+@[^\s<>"'(),;:/\\@]+/g, "[address]");
  return { ...rest, error: hide(message), ...(stack ? { stack: hide(stack) } : {}) };
}

/**
 * Sends one message without holding the response for it: the send runs after the handler
 * returns (the Worker's `waitUntil`, or the event loop on Node). A failed send is logged with
 * the request id and changes no answer, so an answer never says whether mail went out.
 * Returns the send, for callers (tests) that want to wait for it.
 */
export function sendEmail(
  c: Context<AppEnv>,
  kind: EmailKind,
  to: string,
  input: Omit<TemplateInput, "appName"> = {},
): Promise<void> {
  const { config, mailer, logger, waitUntil } = c.get("deps");
  const requestId = c.get("requestId");
  const rendered = renderEmail(kind, { ...input, appName: config.appName });
  const task = Promise.resolve()
    .then(() =>
      mailer.send({
        ...rendered,
        to,
        from: config.email.from,
        kind,
        ...(input.link ? { link: input.link } : {}),
        ...(input.code ? { code: input.code } : {}),
      }),
    )
    .then(
      () => logger.debug("email_sent", { request_id: requestId, kind }),
      (error: unknown) =>
        logger.error("email_failed", { request_id: requestId, kind, ...loggableSendError(error) }),
    );
  waitUntil?.(c, task);
  return task;
}
