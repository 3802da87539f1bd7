-- The request log keeps header values only for an allowlist of harmless headers (issue #10,
-- class 3). Rows written before kept every value but a few masked ones: keep their names and
-- replace every value outside the allowlist with "[redacted]". The list is
-- gateway.LoggedValueHeaders; a test keeps the two equal.
UPDATE request_log SET headers = coalesce((
  SELECT json_group_object(h.key,
    CASE WHEN lower(h.key) IN (
    'accept',
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'cache-control',
    'connection',
    'content-encoding',
    'content-language',
    'content-length',
    'content-type',
    'dnt',
    'expect',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'origin',
    'pragma',
    'priority',
    'range',
    'sec-fetch-dest',
    'sec-fetch-mode',
    'sec-fetch-site',
    'sec-fetch-user',
    'te',
    'upgrade',
    'upgrade-insecure-requests',
    'user-agent',
    'x-request-id',
    'x-requested-with')
    AND h.type = 'array' THEN json(h.value)
    ELSE json((SELECT json_group_array('[redacted]') FROM json_each(CASE WHEN h.type = 'array' THEN h.value ELSE '[0]' END)))
    END)
  FROM json_each(request_log.headers) AS h), '{}')
WHERE json_valid(headers);
UPDATE request_log SET headers = '{}' WHERE NOT json_valid(headers);
