"""makima_client: ask a Makima owner from an agent.

The SDK (`MakimaClient`, `AsyncMakimaClient`), the `makima` CLI (makima_client.cli) and an
MCP server over stdio (`makima mcp`, makima_client.mcp_server). It speaks the server's HTTP
contract and imports nothing of the server.
"""

from makima_client._base import __version__ as __version__
from makima_client._flows import RetryPolicy as RetryPolicy
from makima_client.aio import AsyncMakimaClient as AsyncMakimaClient
from makima_client.client import MakimaClient as MakimaClient
from makima_client.errors import AuthError as AuthError
from makima_client.errors import Conflict as Conflict
from makima_client.errors import MakimaError as MakimaError
from makima_client.errors import NotFound as NotFound
from makima_client.errors import RateLimited as RateLimited
from makima_client.errors import Unavailable as Unavailable
from makima_client.errors import ValidationError as ValidationError
from makima_client.models import Outcome as Outcome

__all__ = [
    "AsyncMakimaClient",
    "AuthError",
    "Conflict",
    "MakimaClient",
    "MakimaError",
    "NotFound",
    "Outcome",
    "RateLimited",
    "RetryPolicy",
    "Unavailable",
    "ValidationError",
    "__version__",
]
