CREATE TABLE `identities` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`subject` text NOT NULL,
	`email` text,
	`email_verified` integer DEFAULT false NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `identities_provider_subject_idx` ON `identities` (`provider`,`subject`);--> statement-breakpoint
CREATE INDEX `identities_user_id_idx` ON `identities` (`user_id`);--> statement-breakpoint
CREATE TABLE `identity_providers` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`display_name` text,
	`issuer` text NOT NULL,
	`client_ids` text NOT NULL,
	`scopes` text NOT NULL,
	`api_url` text,
	`tenant` text,
	`team_id` text,
	`key_id` text,
	`secret_jwe` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `upstream_authorizations` (
	`state` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`request_id` text NOT NULL,
	`code_verifier` text NOT NULL,
	`nonce` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `upstream_authorizations_expires_at_idx` ON `upstream_authorizations` (`expires_at`);--> statement-breakpoint
CREATE TABLE `upstream_nonces` (
	`key` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `upstream_nonces_expires_at_idx` ON `upstream_nonces` (`expires_at`);