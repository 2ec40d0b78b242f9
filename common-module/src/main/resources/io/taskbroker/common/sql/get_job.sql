SELECT * FROM taskbroker.jobs WHERE id = :id
