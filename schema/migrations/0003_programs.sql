CREATE TABLE `program_members` (
	`program_id` text NOT NULL,
	`meter_id` text NOT NULL,
	`joined_at` integer NOT NULL,
	PRIMARY KEY(`program_id`, `meter_id`)
);
--> statement-breakpoint
CREATE INDEX `program_members_meter` ON `program_members` (`meter_id`);--> statement-breakpoint
CREATE TABLE `programs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`degree` integer NOT NULL,
	`rekey_mode` text NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
