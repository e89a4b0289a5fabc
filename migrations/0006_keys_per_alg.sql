DROP INDEX `signing_keys_one_current`;--> statement-breakpoint
DROP INDEX `signing_keys_one_next`;--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_one_current_per_alg` ON `signing_keys` (`alg`) WHERE status = 'current';--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_one_next_per_alg` ON `signing_keys` (`alg`) WHERE status = 'next';