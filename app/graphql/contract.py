"""The front-end contract: the operations in frontend-contract/operations, their persisted bodies and hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "frontend-contract"
MANIFEST_NAME = "persisted-operations.json"


@dataclass(frozen=True)
class ContractOperation:
    name: str
    type: str  # query, mutation or subscription
    body: str  # the operation and the fragments it uses, printed canonically
    sha256: str


def sha256_hex(text: str) -> str:
    # surrogatepass: a query with a lone surrogate still gets a (non-matching) hash instead of an exception
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load_document(contract_dir: Path = CONTRACT_DIR) -> DocumentNode:
    """All operation files as one document (fragments are shared between files)."""
    files = sorted((contract_dir / "operations").glob("*.graphql"))
    return parse("\n".join(f.read_text() for f in files))


def _spreads(node: object) -> list[str]:
    names: list[str] = []

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            if spread.name.value not in names:
                names.append(spread.name.value)

    visit(node, Collect())  # type: ignore[arg-type]  # graphql-core types the visitor's enter_* hooks more narrowly than it calls them
    return names


def operations(document: DocumentNode) -> list[ContractOperation]:
    """Each named operation with the fragments it uses (transitively), in order of first use."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    found: list[ContractOperation] = []
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        if op.name is None:
            raise ValueError("Every contract operation needs a name.")
        used: list[str] = []
        pending = _spreads(op)
        while pending:
            name = pending.pop(0)
            if name in used:
                continue
            used.append(name)
            pending.extend(_spreads(fragments[name]))
        body = print_ast(DocumentNode(definitions=(op, *(fragments[n] for n in used))))
        found.append(ContractOperation(op.name.value, op.operation.value, body, sha256_hex(body)))
    names = [o.name for o in found]
    if len(names) != len(set(names)):
        raise ValueError(f"Contract operation names must be unique: {sorted(names)}")
    return sorted(found, key=lambda o: o.name)


def load_operations(contract_dir: Path = CONTRACT_DIR) -> list[ContractOperation]:
    return operations(load_document(contract_dir))


def manifest(ops: list[ContractOperation]) -> str:
    """Apollo's persisted query manifest format: what clients send as ``extensions.persistedQuery``."""
    data = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": o.sha256, "name": o.name, "type": o.type, "body": o.body} for o in ops],
    }
    return json.dumps(data, indent=2) + "\n"
