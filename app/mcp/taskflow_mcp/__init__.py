"""TaskFlow MCP server: the task tools of the TaskFlow app over MCP's streamable HTTP transport."""
