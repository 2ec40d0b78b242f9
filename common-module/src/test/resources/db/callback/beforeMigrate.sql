-- An application's SQL callback in a callback folder of its own; taskbroker must never run it.
CREATE TABLE IF NOT EXISTS public.app_callback_ran (location text);
INSERT INTO public.app_callback_ran VALUES ('db/callback');
