SELECT * FROM taskbroker.jobs WHERE id = ANY (CAST(:ids AS uuid[]))
