"""Queries compiled to SQL once per database connection and run again with new values.

Django compiles a queryset to SQL every time it runs it. For the statements the delivery
worker runs for every booking that compiling cost more CPU than running them: the claim's
read of a booking with its viewing, agency, credential and slot took 0.4 ms to compile and
0.04 ms to run (docs/scaling.md). A prepared query is written as an ordinary queryset whose
changing values are `Param`s; the first run on a connection compiles it, every later run
only binds the values (each prepared by its field, as Django prepares a lookup's value) and
executes the SQL.

Built on the compiler's own steps (as QuerySet.update() and ModelIterable use them), so the
SQL and the model instances are exactly Django's; Django is pinned to 6.1 in pyproject.toml
and tests/test_prepared.py checks every prepared query against the queryset it stands for.
"""

from collections.abc import Callable
from weakref import WeakKeyDictionary

from django.db import connections, transaction
from django.db.models import Expression, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery


class Param(Expression):
    """A value given when a prepared query runs, by name; `output_field` prepares it for the
    database (a datetime as SQLite stores it, a dict as JSON...)."""

    def __init__(self, name: str, output_field):
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [self]

    def bind(self, values: dict, connection):
        return self.output_field.get_db_prep_save(values[self.name], connection=connection)


class Prepared:
    """One query, compiled on first use per connection (the threads of a worker each have
    their own)."""

    def __init__(self, build: Callable[[], object]):
        self.build = build
        self.compiled: WeakKeyDictionary = WeakKeyDictionary()

    def compile(self, connection):
        raise NotImplementedError

    def compile_for(self, connection):
        compiled = self.compiled.get(connection)
        if compiled is None:
            compiled = self.compiled[connection] = self.compile(connection)
        return compiled

    def statement(self, using: str, values: dict):
        connection = connections[using]
        compiled = self.compile_for(connection)
        sql, template = compiled[0], compiled[1]
        params = [p.bind(values, connection) if isinstance(p, Param) else p for p in template]
        return connection, compiled, sql, params


class PreparedUpdate(Prepared):
    """`queryset.update(**changes)`, prepared: `build` returns (queryset, changes)."""

    def compile(self, connection):
        queryset, changes = self.build()
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(changes)
        query.clear_select_clause()
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if query.get_related_updates():
            raise ValueError("a prepared update changes one table")
        return sql, list(params)

    def run(self, using: str = "default", **values) -> int:
        """Rows updated."""
        connection, _, sql, params = self.statement(using, values)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


class PreparedSelect(Prepared):
    """A queryset of model instances (select_related and only() included), prepared:
    `build` returns the queryset."""

    def compile(self, connection):
        queryset: QuerySet = self.build()
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        # As ModelIterable reads the rows: the converters of the columns, which of them are
        # the model's own, and how the related instances are built from the rest.
        select, klass_info = compiler.select, compiler.klass_info
        converters = compiler.get_converters([column[0] for column in select])
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in select[start:end]]
        fetch_mode = queryset._fetch_mode
        populators = get_related_populators(klass_info, select, queryset.db, fetch_mode)
        return sql, list(params), compiler, converters, (start, end), names, populators, fetch_mode

    def run(self, using: str = "default", **values) -> list:
        connection, compiled, sql, params = self.statement(using, values)
        compiler, converters, (start, end), names, populators, fetch_mode = compiled[2:]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        model = compiler.klass_info["model"]
        instances = []
        for row in rows:
            instance = model.from_db(using, names, row[start:end], fetch_mode=fetch_mode)
            for populator in populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances

    def first(self, using: str = "default", **values):
        instances = self.run(using, **values)
        return instances[0] if instances else None


class PreparedInsert(Prepared):
    """A new instance's `save()`, prepared: `build` returns the model. Every concrete field
    but the automatic primary key is inserted with its `pre_save()` value, as save() inserts
    them (defaults and auto_now_add hold), and the new key is set on the instance. Like
    bulk_create(), it sends no signals; nothing of ours listens to the models it is used for
    (tests/test_prepared.py)."""

    def compile(self, connection):
        model = self.build()
        meta = model._meta
        if not connection.features.can_return_columns_from_insert:
            raise ValueError("a prepared insert needs INSERT ... RETURNING")
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        query = InsertQuery(model)
        # raw: the Params go in as they are, without pre_save() (which save() calls).
        query.insert_values(
            fields, [model(**{f.attname: Param(f.attname, f) for f in fields})], raw=True
        )
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk]
        [(sql, params)] = compiler.as_sql()
        return sql, list(params), compiler.returning_params, fields

    def save(self, instance, using: str = "default"):
        """Insert `instance` (a new one) and set its primary key."""
        connection = connections[using]
        fields = self.compile_for(connection)[3]
        values = {field.attname: field.pre_save(instance, add=True) for field in fields}
        connection, compiled, sql, params = self.statement(using, values)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(sql, params)
            [(pk,)] = connection.ops.fetch_returned_rows(cursor, compiled[2])
        instance.pk = pk
        instance._state.adding, instance._state.db = False, using
        return instance
