"""A fake Dagger engine session: it serves Dagger's real GraphQL schema, validates every query it
receives against it, records the queries and answers with made-up ids and values.

Installed on `SharedConnection`, it lets the module's functions run for real, without an engine,
so tests can assert the graph they build."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import graphql

from tests.dagger.executor.session import SdkSession, install, load_schema, uninstall

__all__ = ["Call", "FakeSession", "install", "load_schema", "uninstall"]


@dataclass
class Call:
    """One field in a recorded query, with its literal arguments."""

    name: str
    args: dict[str, Any]


@dataclass
class FakeSession(SdkSession):
    schema: graphql.GraphQLSchema
    values: dict[str, Any] = field(default_factory=dict)  # field name -> answer
    documents: list[graphql.DocumentNode] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    async def execute(self, request: Any) -> dict[str, Any]:
        document = request.document
        self.documents.append(document)
        problems = graphql.validate(self.schema, document)
        self.errors += [f"{p.message}\n{graphql.print_ast(document)}" for p in problems]
        [operation] = document.definitions
        return self._answer(operation.selection_set, self.schema.query_type)

    def _answer(self, selections: graphql.SelectionSetNode, parent: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for node in selections.selections:
            if isinstance(node, graphql.InlineFragmentNode):  # `node(id:) { ... on Directory }`
                data.update(self._answer(node.selection_set, self.schema.get_type(
                    node.type_condition.name.value)))  # fmt: skip
                continue
            definition = parent.fields[node.name.value]
            data[node.alias.value if node.alias else node.name.value] = self._value(
                node, graphql.get_named_type(definition.type), definition.type
            )
        return data

    def _value(self, node: Any, named: Any, full: Any) -> Any:
        if node.selection_set is not None:
            one = self._answer(node.selection_set, named)
            return [one] if graphql.is_list_type(graphql.get_nullable_type(full)) else one
        if node.name.value in self.values:
            return self.values[node.name.value]
        if graphql.is_enum_type(named):
            return next(iter(named.values))
        return {
            "String": "", "Int": 0, "Boolean": True, "Float": 0.0, "Void": None, "JSON": "{}",
        }.get(named.name, f"fake-{named.name}-{next(self._ids)}")  # fmt: skip

    # -- reading the recorded graph -----------------------------------------------------------

    def calls(self) -> list[list[Call]]:
        """Each query as its chain of fields, outermost first (the last selection path)."""
        chains = []
        for document in self.documents:
            chain: list[Call] = []
            selections = document.definitions[0].selection_set
            while selections is not None:
                node = selections.selections[0]
                if isinstance(node, graphql.InlineFragmentNode):
                    selections = node.selection_set
                    continue
                args = {
                    a.name.value: graphql.value_from_ast_untyped(a.value) for a in node.arguments
                }
                chain.append(Call(node.name.value, args))
                selections = node.selection_set
            chains.append(chain)
        return chains

    def all_calls(self) -> list[Call]:
        return [call for chain in self.calls() for call in chain]

    def named(self, name: str) -> list[Call]:
        return [call for call in self.all_calls() if call.name == name]
