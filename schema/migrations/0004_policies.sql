CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `policies` (
	`scope` text NOT NULL,
	`scope_id` text NOT NULL,
	`key_class` text NOT NULL,
	`rotation_seconds` integer,
	`max_invocations` integer,
	`batch_window_seconds` integer,
	`grace_seconds` integer,
	`session_lifetime_seconds` integer,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL,
	PRIMARY KEY(`scope`, `scope_id`, `key_class`)
);
