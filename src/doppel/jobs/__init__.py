"""Jobs: the PostgreSQL-backed queue (procrastinate), workers, the schedule, and the reaper."""
