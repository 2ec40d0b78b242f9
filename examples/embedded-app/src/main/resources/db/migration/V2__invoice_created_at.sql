-- The application's own second migration: taskbroker must never apply it to its schema history.
ALTER TABLE invoices ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
