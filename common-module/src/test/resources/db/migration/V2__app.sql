-- An application's second migration: a version taskbroker's schema may not have yet, which
-- taskbroker must not apply into its own history (MigrationsTest).
CREATE TABLE public.app_customers (id bigint PRIMARY KEY);
