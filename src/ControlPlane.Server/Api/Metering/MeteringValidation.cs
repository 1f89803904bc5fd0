using System.Text.RegularExpressions;
using ControlPlane.Domain;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Server.Api.Metering;

public static partial class MeteringValidation
{
    public const int MaxEventsPerBatch = 10_000;

    /// <summary>More tokens than any single request can use: a counting bug, not usage.</summary>
    public const long MaxTokensPerEvent = 100_000_000;

    /// <summary>How far ahead of the server's clock an event's timestamp may be (clock skew).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    private static readonly DateTimeOffset Earliest = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static bool IsValidModel(string? model) => model is not null && ModelPattern().IsMatch(model);

    /// <summary>Field errors naming each bad event (by index and id); a batch with any error counts nothing.</summary>
    public static Dictionary<string, string[]> Validate(UsageBatchRequest batch, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        if (batch.BatchId is not { Length: > 0 and <= 128 })
        {
            errors["batchId"] = ["Required, at most 128 characters."];
        }

        var events = batch.Events ?? [];
        if (events.Count is 0 or > MaxEventsPerBatch)
        {
            errors["events"] = [$"Between 1 and {MaxEventsPerBatch} events."];
            return errors;
        }

        string? validModel = null;
        for (var i = 0; i < events.Count; i++)
        {
            var problems = Validate(events[i], now, ref validModel);
            if (problems.Count > 0)
            {
                var id = events[i]?.EventId is { Length: > 0 and <= 128 } eventId ? $" (eventId '{eventId}')" : "";
                errors[$"events[{i}]"] = problems.Select(p => p + id).ToArray();
            }
        }

        return errors;
    }

    public static UsageBatch ToBatch(UsageBatchRequest batch) => new(
        batch.BatchId!,
        batch.Events!.Select(e => new UsageEvent(e!.EventId!, e.CustomerId!, e.DeploymentId!, e.Model!, e.InputTokens!.Value, e.OutputTokens!.Value, e.Timestamp!.Value.ToUniversalTime())).ToList());

    private static readonly List<string> NoProblems = [];

    /// <param name="validModel">The last model found valid: a batch's events mostly name one, checked once.</param>
    private static List<string> Validate(UsageEventRequest? e, DateTimeOffset now, ref string? validModel)
    {
        var problems = NoProblems;
        if (e is null)
        {
            Add(ref problems, "Must be an object.");
            return problems;
        }

        if (e.EventId is not { Length: > 0 and <= 128 })
        {
            Add(ref problems, "eventId: required, at most 128 characters.");
        }

        if (!Ids.IsValid(e.CustomerId))
        {
            Add(ref problems, "customerId: required, letters, digits, '-', '_' and '.'.");
        }

        if (e.DeploymentId is not { Length: > 0 and <= 128 })
        {
            Add(ref problems, "deploymentId: required, at most 128 characters.");
        }

        if (e.Model is null || !string.Equals(e.Model, validModel, StringComparison.Ordinal))
        {
            if (IsValidModel(e.Model))
            {
                validModel = e.Model;
            }
            else
            {
                Add(ref problems, "model: required, a model name.");
            }
        }

        if (e.InputTokens is not (>= 0 and <= MaxTokensPerEvent) || e.OutputTokens is not (>= 0 and <= MaxTokensPerEvent))
        {
            Add(ref problems, $"inputTokens and outputTokens: required, 0 to {MaxTokensPerEvent}.");
        }

        if (e.Timestamp is not { } at)
        {
            Add(ref problems, "timestamp: required.");
        }
        else if (at > now + MaxClockSkew)
        {
            Add(ref problems, $"timestamp: {at:O} is in the future.");
        }
        else if (at < Earliest)
        {
            Add(ref problems, $"timestamp: {at:O} is before {Earliest:yyyy-MM-dd}.");
        }

        return problems;
    }

    private static void Add(ref List<string> problems, string problem)
    {
        if (ReferenceEquals(problems, NoProblems))
        {
            problems = [];
        }

        problems.Add(problem);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelPattern();
}
