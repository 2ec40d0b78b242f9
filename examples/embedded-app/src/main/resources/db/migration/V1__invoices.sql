-- The application's own first migration, in Flyway's default folder.
CREATE TABLE invoices (
    id         bigserial   PRIMARY KEY,
    customer   text        NOT NULL,
    amount     numeric     NOT NULL,
    pdf_path   text
);
