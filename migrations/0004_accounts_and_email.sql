CREATE TABLE `email_challenges` (
	`id` text PRIMARY KEY NOT NULL,
	`purpose` text NOT NULL,
	`subject` text NOT NULL,
	`email` text NOT NULL,
	`user_id` text,
	`create_user` integer DEFAULT false NOT NULL,
	`token_hash` text NOT NULL,
	`code_hash` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`code_expires_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `email_challenges_token_hash_unique` ON `email_challenges` (`token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `email_challenges_purpose_subject_idx` ON `email_challenges` (`purpose`,`subject`);--> statement-breakpoint
CREATE INDEX `email_challenges_expires_at_idx` ON `email_challenges` (`expires_at`);--> statement-breakpoint
ALTER TABLE `users` ADD `email_verified_at` integer;