-- Ward wall: the page variable, 1..n pages of {{per_page}} beds admitted at the end of the range.
SELECT generate_series(1, greatest(1, ceil(count(*) / {{per_page}}.0)::integer))::text
FROM admissions
WHERE admitted_at <= $__timeTo()::timestamptz
  AND (discharged_at IS NULL OR discharged_at > $__timeTo()::timestamptz)
