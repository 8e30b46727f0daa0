CREATE TABLE `readings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`meter_id` text NOT NULL,
	`region` text NOT NULL,
	`key_id` text NOT NULL,
	`key_version` integer NOT NULL,
	`invocation_counter` integer NOT NULL,
	`security_control` integer NOT NULL,
	`payload` text NOT NULL,
	`via` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `readings_counter` ON `readings` (`meter_id`,`key_id`,`key_version`,`invocation_counter`);