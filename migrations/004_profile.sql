-- A user's time zone, an IANA name such as Europe/London: every time on a
-- page is shown in it and forms read times in it. '' means not chosen yet:
-- pages show UTC, and the first sign-in from a browser sets the browser's.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
