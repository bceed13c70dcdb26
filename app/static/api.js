// The contract's operations over HTTP, sent as Apollo persisted queries (hash first, text only if asked).

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** The contract's operations by name, from the server's persisted-operation manifest. */
export async function loadOperations() {
  const response = await fetch("contract/persisted-operations.json");
  if (!response.ok) throw new ApiError("The server did not send its contract operations.", "UNAVAILABLE");
  const manifest = await response.json();
  return Object.fromEntries(manifest.operations.map((op) => [op.name, op]));
}

export class Api {
  constructor(token, operations) {
    this.token = token;
    this.operations = operations;
  }

  has(name) {
    return name in this.operations;
  }

  /** Run a contract operation; resolves to its data or throws ApiError with the first error's code. */
  async run(name, variables = {}) {
    const op = this.operations[name];
    if (!op) throw new ApiError(`The server's contract has no operation ${name}.`, "NOT_IN_CONTRACT");
    const extensions = { persistedQuery: { version: 1, sha256Hash: op.id } };
    let body = await this.post({ operationName: name, variables, extensions });
    if (body.errors && body.errors[0]?.extensions?.code === "PERSISTED_QUERY_NOT_FOUND") {
      body = await this.post({ operationName: name, variables, extensions, query: op.body });
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      throw new ApiError(first.message, first.extensions?.code || "ERROR");
    }
    return body.data;
  }

  async post(payload) {
    let response;
    try {
      response = await fetch("graphql", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/graphql-response+json, application/json",
          Authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify(payload),
      });
    } catch (err) {
      throw new ApiError("The server cannot be reached.", "NETWORK");
    }
    if (!response.ok) throw new ApiError(`The server answered ${response.status}.`, "HTTP");
    return response.json();
  }
}
