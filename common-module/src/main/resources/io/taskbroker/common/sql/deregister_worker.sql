DELETE FROM taskbroker.workers WHERE id = :id
