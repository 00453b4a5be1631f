"""A small table of records, in the spirit of a DataFrame (pandas is not available here).

A record is any object with a ``get(field, default=None)`` method (run records, merged
configurations). The table keeps them in order and offers the few operations the reports need:
filtering, grouping by fields, the distinct values of a field, and sorting.
"""

from collections import OrderedDict


def sort_value(value):
    """A key that orders None, numbers and strings together without raising on mixed types."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0, str(value))


class Table:
    """An ordered list of records with grouping helpers."""

    def __init__(self, records=()):
        self.records = list(records)

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, index):
        return self.records[index]

    def __bool__(self):
        return bool(self.records)

    def __repr__(self):
        return f"Table({len(self.records)} records)"

    def column(self, field):
        """The values of one field, in record order."""
        return [record.get(field) for record in self.records]

    def unique(self, field):
        """The distinct values of one field, sorted."""
        return sorted(set(self.column(field)), key=sort_value)

    def filter(self, predicate):
        return Table(record for record in self.records if predicate(record))

    def where(self, **fields):
        """Records whose fields equal the given values (a list or tuple value means 'any of')."""

        def matches(record):
            for field, wanted in fields.items():
                value = record.get(field)
                if isinstance(wanted, (list, tuple, set, frozenset)):
                    if value not in wanted:
                        return False
                elif value != wanted:
                    return False
            return True

        return self.filter(matches)

    def sort_by(self, *fields):
        return Table(sorted(self.records, key=lambda r: tuple(sort_value(r.get(f)) for f in fields)))

    def group_by(self, *fields):
        """An ordered mapping from the tuple of field values to the sub-table of those records.

        Groups come in sorted order of their keys; records keep their order within a group.
        """
        groups = {}
        for record in self.records:
            key = tuple(record.get(field) for field in fields)
            groups.setdefault(key, []).append(record)
        ordered = sorted(groups, key=lambda key: tuple(sort_value(v) for v in key))
        return OrderedDict((key, Table(groups[key])) for key in ordered)

    def varying_fields(self, fields):
        """Those of `fields` that take more than one value in this table."""
        return [field for field in fields if len(set(self.column(field))) > 1]
