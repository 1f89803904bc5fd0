namespace ControlPlane.Domain.Commits;

/// <summary>Why a contract ledger refused a command, in HTTP terms.</summary>
[GenerateSerializer, Alias("ledger-error-kind")]
public enum LedgerErrorKind
{
    /// <summary>The request is wrong whatever the ledger's state (400).</summary>
    Invalid,
    /// <summary>The request does not fit the ledger's state: a quarter out of order, a contract already opened (409).</summary>
    Conflict,
    /// <summary>The contract was never opened (404).</summary>
    NotFound,
}

/// <summary>A refusal, with messages keyed by the request field they concern (a <c>ValidationProblem</c>'s errors).</summary>
[GenerateSerializer, Alias("ledger-error")]
public sealed record LedgerError(
    [property: Id(0)] LedgerErrorKind Kind,
    [property: Id(1)] Dictionary<string, string[]> Errors)
{
    /// <summary>Every message on one line, for a <c>ProblemDetails.Detail</c> or a log.</summary>
    public string Message => string.Join("; ", Errors.SelectMany(e => e.Value));

    public static LedgerError Invalid(IReadOnlyDictionary<string, string[]> errors) =>
        new(LedgerErrorKind.Invalid, new Dictionary<string, string[]>(errors, StringComparer.Ordinal));

    public static LedgerError Invalid(string field, string message) => new(LedgerErrorKind.Invalid, One(field, message));

    public static LedgerError Conflict(string field, string message) => new(LedgerErrorKind.Conflict, One(field, message));

    public static LedgerError NotFound(string field, string message) => new(LedgerErrorKind.NotFound, One(field, message));

    private static Dictionary<string, string[]> One(string field, string message) =>
        new(StringComparer.Ordinal) { [field] = [message] };
}

/// <summary>The outcome of a ledger command: a value, or the reason it was refused (and the ledger left unchanged).</summary>
public readonly record struct LedgerResult<T>(T Value, LedgerError? Error)
{
    public bool IsSuccess => Error is null;

    public static implicit operator LedgerResult<T>(T value) => new(value, null);

    public static implicit operator LedgerResult<T>(LedgerError error) => new(default!, error);
}
