-- The application's own schema, applied by the application's own Flyway (Spring Boot's
-- auto-configuration, default location db/migration), beside taskbroker's.
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  amount numeric NOT NULL
);
