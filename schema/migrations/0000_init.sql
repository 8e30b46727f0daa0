CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`role` text NOT NULL,
	`action` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`request_id` text NOT NULL,
	`details` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `keys` (
	`id` text NOT NULL,
	`version` integer NOT NULL,
	`owner_type` text NOT NULL,
	`owner_id` text NOT NULL,
	`class` text NOT NULL,
	`state` text NOT NULL,
	`algorithm` text NOT NULL,
	`origin` text NOT NULL,
	`mk_version` integer NOT NULL,
	`wrapped` text,
	`created_at` integer NOT NULL,
	`rotated_at` integer,
	`expires_at` integer,
	`destroyed_at` integer,
	PRIMARY KEY(`id`, `version`)
);
--> statement-breakpoint
CREATE INDEX `keys_owner` ON `keys` (`owner_type`,`owner_id`,`class`);--> statement-breakpoint
CREATE INDEX `keys_mk_version` ON `keys` (`mk_version`);--> statement-breakpoint
CREATE TABLE `meters` (
	`id` text PRIMARY KEY NOT NULL,
	`system_title` text NOT NULL,
	`region` text NOT NULL,
	`suite` integer NOT NULL,
	`identity_curve` text NOT NULL,
	`identity_public_key` text NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `meters_system_title_unique` ON `meters` (`system_title`);--> statement-breakpoint
CREATE INDEX `meters_region` ON `meters` (`region`,`id`);--> statement-breakpoint
CREATE INDEX `meters_state` ON `meters` (`state`,`id`);--> statement-breakpoint
CREATE TABLE `operator_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`token_hash` text NOT NULL,
	`transport_key_id` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`expires_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `operator_tokens_token_hash_unique` ON `operator_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `operator_tokens_role` ON `operator_tokens` (`role`);--> statement-breakpoint
CREATE TABLE `transport_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`purpose` text NOT NULL,
	`key_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `transport_keys_name_unique` ON `transport_keys` (`name`);