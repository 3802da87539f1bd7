-- The request log keeps header values only for an allowlist of harmless headers (issue #10,
-- class 3). Rows written before kept every value but a few masked ones: keep their names and
-- replace every value outside the allowlist with "[redacted]". The list is
-- gateway.LoggedValueHeaders; a test keeps the two equal. Rows are Keygate's own JSON objects.
UPDATE request_log SET headers = coalesce((
  SELECT json_object_agg(h.key,
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
    AND json_typeof(h.value) = 'array' THEN h.value
    ELSE (SELECT json_agg('[redacted]'::text) FROM json_array_elements(CASE WHEN json_typeof(h.value) = 'array' THEN h.value ELSE '[0]'::json END))
    END)
  FROM json_each(request_log.headers::json) AS h)::text, '{}')
WHERE headers LIKE '{%';
UPDATE request_log SET headers = '{}' WHERE headers NOT LIKE '{%';
