using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// Turns request-binding failures (malformed JSON, a missing body, a value of the wrong type) into a
/// 400 that says what was wrong, and an unknown outcome inside the cluster into a 503 the caller may
/// retry; anything else stays a 500.
/// </summary>
public sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            BadHttpRequestException bad => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "The request could not be read.",
                Detail = Describe(bad),
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
        }

        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    private static string Describe(BadHttpRequestException bad) =>
        bad.InnerException is System.Text.Json.JsonException json ? $"{bad.Message} {json.Message}" : bad.Message;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request failed inside the cluster")]
    private partial void LogUnavailable(Exception exception);
}
