using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ControlPlane.Server.Hosting;

/// <summary>
/// What <c>/health/ready</c> answers: <c>Healthy</c> as plain text, or a 503 with <c>Retry-After</c> and a
/// ProblemDetails body that names the checks that failed, like every other 503 of the server.
/// </summary>
public static class HealthResponses
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        if (report.Status != HealthStatus.Unhealthy)
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(report.Status.ToString());
            return;
        }

        context.Response.Headers.RetryAfter = RetryAfter.Readiness;
        var failing = report.Entries
            .Where(e => e.Value.Status == HealthStatus.Unhealthy)
            .Select(e => $"{e.Key}: {e.Value.Description ?? "unhealthy"}");
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = context.Response.StatusCode,
                Title = "The silo is not ready.",
                Detail = string.Join("; ", failing),
            },
        });
    }
}
