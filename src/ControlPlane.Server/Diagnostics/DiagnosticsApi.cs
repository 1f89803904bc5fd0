using System.Text.Json;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Options;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ControlPlane.Server.Diagnostics;

/// <summary>
/// Baselines and a memory report for the simulator's load commands, mapped only with
/// <c>Diagnostics:LoadBaselines=true</c> (<see cref="DiagnosticsOptions"/>).
/// </summary>
public static class DiagnosticsApi
{
    /// <summary>Longest payload a state-write baseline request may carry (a usage bucket is larger; a node's state about this).</summary>
    public const int MaxPayloadLength = 64 * 1024;

    public static IEndpointRouteBuilder MapDiagnosticsApi(this IEndpointRouteBuilder app, DiagnosticsOptions options)
    {
        if (!options.LoadBaselines)
        {
            return app;
        }

        // Not limited: the baselines are measured at rates no anonymous caller is allowed (and exist only on a benchmark's server).
        var diagnostics = app.MapGroup("/diagnostics/v1").WithTags("Diagnostics").DisableRateLimiting();

        // No token: the bare endpoint is the baseline that the heartbeat's token check is part of the cost against.
        diagnostics.MapPost("/echo/{key}", EchoAsync)
            .WithName("EchoBaseline")
            .WithSummary("Read a JSON body and call one grain: the baseline of the heartbeat path.");
        diagnostics.MapPost("/state-writes/{key}", WriteStateAsync)
            .WithName("StateWriteBaseline")
            .WithSummary("Write one grain's state: the baseline of usage ingestion.");
        diagnostics.MapGet("/memory", GetMemoryAsync)
            .RequireAuthorization(Policies.Operator)
            .WithName("Memory")
            .WithSummary("Collect garbage fully, then report the managed heap, the working set and the activations by grain type.");
        return app;
    }

    private static async Task<Ok<EchoResponse>> EchoAsync(string key, JsonElement body, IGrainFactory grains)
    {
        // The body is parsed like a heartbeat's; only its sequence number travels to the grain.
        var sequence = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("sequence", out var s) && s.TryGetInt64(out var n) ? n : 0;
        return TypedResults.Ok(new EchoResponse(await grains.GetGrain<IEchoBaselineGrain>(key).EchoAsync(sequence)));
    }

    private static async Task<Results<NoContent, ValidationProblem>> WriteStateAsync(string key, StateWriteRequest request, IGrainFactory grains)
    {
        if (request.Payload is not { Length: <= MaxPayloadLength } payload)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["payload"] = [$"Give the payload, a string of at most {MaxPayloadLength} characters."] },
                title: "The write is not valid.");
        }

        await grains.GetGrain<IStateWriteBaselineGrain>(key).WriteAsync(payload);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<MemoryResponse>> GetMemoryAsync(IGrainFactory grains)
    {
        // Twice, so that objects kept alive only by finalizers are gone too.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: false);
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        var activations = statistics
            .GroupBy(s => s.GrainType)
            .Select(g => new ActivationCount(g.Key, g.Sum(s => s.ActivationCount)))
            .OrderByDescending(a => a.Activations)
            .ToArray();
        return TypedResults.Ok(new MemoryResponse(heap, Environment.WorkingSet, activations));
    }
}

public sealed record EchoResponse(long Sequence);

public sealed record StateWriteRequest(string? Payload);

/// <param name="ManagedHeapBytes">Bytes on the managed heap after a full, compacting collection.</param>
/// <param name="WorkingSetBytes">The process's resident memory.</param>
public sealed record MemoryResponse(long ManagedHeapBytes, long WorkingSetBytes, IReadOnlyList<ActivationCount> Activations);

public sealed record ActivationCount(string GrainType, int Activations);
