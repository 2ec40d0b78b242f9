-- An application's own first migration, in Flyway's (and Spring Boot's) default location. It is
-- here to prove taskbroker never reads it (MigrationsTest): the version collides with ours.
CREATE TABLE public.app_orders (id bigint PRIMARY KEY);
