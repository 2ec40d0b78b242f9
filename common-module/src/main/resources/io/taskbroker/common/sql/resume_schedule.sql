-- Resumes a schedule from now on (the slots of the pause are not caught up); false when there is none.
SELECT taskbroker.resume_schedule(:name) AS found
