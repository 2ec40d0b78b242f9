SELECT taskbroker.cancel(:id) AS status
