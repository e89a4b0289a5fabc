CREATE TABLE `clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text,
	`grant_types` text NOT NULL,
	`redirect_uris` text DEFAULT '[]' NOT NULL,
	`scopes` text DEFAULT '' NOT NULL,
	`access_token_ttl` integer,
	`refresh_token_ttl` integer,
	`created_at` integer NOT NULL
);
