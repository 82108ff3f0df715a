"""How the tools meet the MCP SDK: unknown arguments are refused, and errors read as plain
sentences (field: problem) without pydantic's noise."""

from __future__ import annotations

from typing import Any, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ConfigDict, ValidationError

from ordergate.agent.wording import LIMITS
from ordergate.errors import DomainError, field_path


class AgentServer(MCPServer[Any]):
    """MCPServer whose tool errors read as plain sentences (field: problem), without pydantic's noise."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(
                    f"Error executing tool {name}: {invalid_arguments(exc.__cause__)}"
                ) from exc.__cause__
            raise


def invalid_arguments(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = field_path(error.get("loc", ())) or "arguments"
        if error.get("type") == "extra_forbidden":
            problems.append(f"{where}: this tool takes no such argument")
        else:
            problems.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    unknown = any(e.get("type") == "extra_forbidden" for e in exc.errors())
    return "invalid arguments: " + "; ".join(problems) + (f". {LIMITS}" if unknown else "")


def domain_message(exc: DomainError) -> str:
    if not exc.errors:
        return exc.detail
    return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)


def strict(tool: Tool) -> Tool:
    """Refuse unknown arguments instead of dropping them silently (and say so in the input schema)."""
    loose = tool.fn_metadata.arg_model
    strict = cast(
        type[ArgModelBase],
        type(
            loose.__name__,
            (loose,),
            {
                "model_config": ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                "__module__": __name__,
            },
        ),
    )
    return tool.model_copy(
        update={
            "fn_metadata": tool.fn_metadata.model_copy(update={"arg_model": strict}),
            "parameters": strict.model_json_schema(by_alias=True),
        }
    )
