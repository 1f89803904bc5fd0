using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using ControlPlane.Server.Storage;
using Microsoft.AspNetCore.Mvc;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// Turns request-binding failures (malformed JSON, a missing body, a value of the wrong type) into a
/// 400 that says what was wrong, and a storage outage or an unknown outcome inside the cluster into a 503
/// with <c>Retry-After</c> that the caller may retry; anything else stays a 500.
/// </summary>
public sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } bad => new HttpValidationProblemDetails(
                new Dictionary<string, string[]> { [FieldName(json.Path)] = [Describe(json)] })
            {
                Status = bad.StatusCode,
                Title = "The request could not be read.",
            },
            BadHttpRequestException bad => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "The request could not be read.",
                Detail = Describe(bad, context.Request),
            },
            _ when StorageFailures.Find(exception) is not null => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The control plane's storage is unavailable.",
                Detail = "Nothing that needed storage was done; retrying the same request is safe.",
            },
            TimeoutException or OrleansException => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The control plane could not complete the request in time.",
                Detail = "The outcome is unknown; retrying the same request is safe.",
            },
            _ => null,
        };

        if (problem is null)
        {
            return false;
        }

        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            LogUnavailable(exception);
            context.Response.Headers.RetryAfter = RetryAfter.Api;
        }

        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>The body's field as a client names it: <c>$.gpus[0].uuid</c> becomes <c>gpus[0].uuid</c>, the whole body <c>$</c>.</summary>
    private static string FieldName(string? path) =>
        path is null or "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    // System.Text.Json's own messages name .NET types; a client gets what it can act on instead.
    private static string Describe(JsonException json) => json switch
    {
        JsonInputException input => input.Message,
        _ when json.Message.StartsWith("The input does not contain any JSON tokens", StringComparison.Ordinal) => "is empty: a JSON body is required.",
        _ when json.Message.StartsWith("Duplicate property", StringComparison.Ordinal) => "appears more than once; each property may be given once.",
        _ when json.Message.Contains("could not be converted", StringComparison.Ordinal) => "has a value of the wrong type.",
        _ => $"is not valid JSON (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}).",
    };

    // ASP.NET Core's own messages name the handler's parameter and its .NET type ("EnrollNodeRequest request")
    // or suggest server-side fixes ("Did you mean to use a Service instead?"); a client gets what it can act on.
    private static string Describe(BadHttpRequestException bad, HttpRequest request) => bad.StatusCode switch
    {
        StatusCodes.Status415UnsupportedMediaType => "The body must be JSON, sent with Content-Type: application/json.",
        StatusCodes.Status413PayloadTooLarge => "The body is too large.",
        _ when request.ContentLength is 0 || bad.Message.Contains("no body was provided", StringComparison.Ordinal)
            || bad.Message.Contains("from body", StringComparison.Ordinal) => "A JSON body is required.",
        _ => "A route or query value is missing or malformed.",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request failed inside the cluster")]
    private partial void LogUnavailable(Exception exception);
}

/// <summary>What every 503 the server sends says in its <c>Retry-After</c> header (seconds).</summary>
public static class RetryAfter
{
    /// <summary>
    /// An API call that failed inside the cluster (storage down, a silo lost and not yet declared dead): the caller may
    /// retry this soon, on this silo or another. One second: an agent that is told so still fits several attempts in its
    /// node's suspect window.
    /// </summary>
    public const string Api = "1";

    /// <summary>A readiness probe that failed: the silo checks again on the next probe.</summary>
    public const string Readiness = "5";
}

/// <summary>A value in a request body that the server refuses, with a message a client can act on.</summary>
public sealed class JsonInputException(string message) : JsonException(message);
