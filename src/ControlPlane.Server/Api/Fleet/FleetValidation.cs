using System.Text.RegularExpressions;
using ControlPlane.Domain;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;

namespace ControlPlane.Server.Api.Fleet;

public static partial class FleetValidation
{
    public const int MaxGpusPerNode = 64;

    /// <summary>Longest inventory error a heartbeat may carry.</summary>
    public const int MaxErrorLength = 2000;

    /// <summary>
    /// The project's id rule (<see cref="Ids.IsValid"/>) narrowed to a lower-case DNS label, shared by node ids and
    /// regions: a node id is also a host name.
    /// </summary>
    public static bool IsValidId(string? id) => Ids.IsValid(id) && IdPattern().IsMatch(id);

    public static Dictionary<string, string[]> Validate(EnrollNodeRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (!IsValidId(request.NodeId))
        {
            errors["nodeId"] = ["Required: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63 characters."];
        }

        if (!IsValidId(request.Region))
        {
            errors["region"] = ["Required: lower-case letters, digits, '-' and '.', at most 63 characters (e.g. 'eu-west')."];
        }

        if (!FreeText.IsClean(request.Provider, 64))
        {
            errors["provider"] = [$"Required, at most 64 characters, {FreeText.Rule}."];
        }

        if (request.Ownership is null)
        {
            errors["ownership"] = ["Required: 'owned' or 'rented'."];
        }

        if (request.HourlyCostUsd is not { } cost || cost < 0 || cost > 100_000 || decimal.Round(cost, 6) != cost)
        {
            errors["hourlyCostUsd"] = ["Required: dollars per hour for the whole node, between 0 and 100000, at most 6 decimals."];
        }

        return errors;
    }

    public static Dictionary<string, string[]> Validate(HeartbeatRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Sequence is not { } sequence || sequence < 0)
        {
            errors["sequence"] = ["Required: a non-negative number that grows with every heartbeat."];
        }

        if (request.AgentSessionId is { Length: 0 or > 64 } || (request.AgentSessionId is { } session && FreeText.HasUnsafeCharacter(session)))
        {
            errors["agentSessionId"] = [$"1 to 64 characters, {FreeText.Rule}."];
        }

        if (request.AgentVersion is { Length: > 64 } || (request.AgentVersion is { } version && FreeText.HasUnsafeCharacter(version)))
        {
            errors["agentVersion"] = [$"At most 64 characters, {FreeText.Rule}."];
        }

        // An error message may span lines: it is cleaned when stored (CleanError), not refused.
        if (request.InventoryError is { Length: > MaxErrorLength })
        {
            errors["inventoryError"] = [$"At most {MaxErrorLength} characters."];
        }

        var gpus = request.Gpus ?? [];
        if (gpus.Count > MaxGpusPerNode)
        {
            errors["gpus"] = [$"At most {MaxGpusPerNode} GPUs per node."];
            return errors;
        }

        for (var i = 0; i < gpus.Count; i++)
        {
            var problems = Validate(gpus[i]);
            if (problems.Count > 0)
            {
                errors[$"gpus[{i}]"] = problems.ToArray();
            }
        }

        if (gpus.All(g => g is not null) && errors.Count == 0)
        {
            if (gpus.Select(g => g!.Index).Distinct().Count() != gpus.Count)
            {
                errors["gpus"] = ["GPU indices must be unique."];
            }
            else if (gpus.Select(g => g!.Uuid).Distinct(StringComparer.Ordinal).Count() != gpus.Count)
            {
                errors["gpus"] = ["GPU uuids must be unique."];
            }
        }

        var replicas = request.Replicas ?? [];
        for (var i = 0; i < replicas.Count; i++)
        {
            if (replicas[i] is not { ReplicaId.Length: > 0 and <= 256 } || FreeText.HasUnsafeCharacter(replicas[i]!.ReplicaId) || ParseReplicaState(replicas[i]!.State) is null)
            {
                errors[$"replicas[{i}]"] = [$"Needs replicaId (at most 256 characters, {FreeText.Rule}) and state: 'starting', 'ready' or 'failed'."];
            }
        }

        if (replicas.Count > MaxGpusPerNode)
        {
            errors["replicas"] = [$"At most {MaxGpusPerNode} replicas per node."];
        }

        if (request.ModelCache is { } cache)
        {
            Validate(cache, errors);
        }

        if (request.SleepBudgetBytes is { } budget && budget is <= 0 or > ModelCache.MaxBytes)
        {
            errors["sleepBudgetBytes"] = [$"Must be between 1 and {ModelCache.MaxBytes} bytes when present (absent: the agent never puts an engine to sleep)."];
        }

        if (request.Sleeping is { } sleeping)
        {
            // The GPUs an engine slept on are the node's: those it reports now, or any a node may have while it cannot read them.
            Validate(sleeping, gpus.Count > 0 ? gpus.Count : MaxGpusPerNode, errors);
        }

        return errors;
    }

    private static void Validate(IReadOnlyList<SleepingEngineRequest?> sleeping, int gpuCount, Dictionary<string, string[]> errors)
    {
        if (sleeping.Count > SleepingEngine.MaxPerNode)
        {
            errors["sleeping"] = [$"At most {SleepingEngine.MaxPerNode} sleeping engines per node."];
            return;
        }

        for (var i = 0; i < sleeping.Count; i++)
        {
            if (sleeping[i] is not { } s || !Ids.IsValid(s.DeploymentId) || !ModelCache.IsValidModel(s.Model) || s.Bytes is not (>= 0 and <= ModelCache.MaxBytes)
                || s.GpuIndices is not { Count: > 0 } gpus || gpus.Any(g => g < 0 || g >= gpuCount) || gpus.Distinct().Count() != gpus.Count)
            {
                errors[$"sleeping[{i}]"] = [$"Needs deploymentId ({Ids.Rule}), model (1 to {DeploymentSpec.MaxModelLength} characters, {FreeText.Rule}), gpuIndices (distinct, each from 0 to {gpuCount - 1}) and bytes (0 to {ModelCache.MaxBytes})."];
            }
        }

        if (errors.Keys.All(k => !k.StartsWith("sleeping", StringComparison.Ordinal))
            && ToSleeping(sleeping).DistinctBy(s => (s.DeploymentId, string.Join(',', s.GpuIndices))).Count() != sleeping.Count)
        {
            errors["sleeping"] = ["Each engine may be listed once: one deployment sleeps at most once on the same GPUs."];
        }
    }

    /// <summary>The sleeping engines of a validated request, their GPUs ascending; none when the agent sent no list.</summary>
    public static SleepingEngine[] ToSleeping(IReadOnlyList<SleepingEngineRequest?>? sleeping) =>
        (sleeping ?? []).Select(s => new SleepingEngine(s!.DeploymentId!, s.Model!, s.GpuIndices!.Order().ToArray(), s.Bytes!.Value, s.Batch == true)).ToArray();

    private static void Validate(ModelCacheRequest cache, Dictionary<string, string[]> errors)
    {
        if (cache.FreeBytes is not (>= 0 and <= ModelCache.MaxBytes))
        {
            errors["modelCache.freeBytes"] = [$"Required: bytes free in the model cache, 0 to {ModelCache.MaxBytes}."];
        }

        var models = cache.Models ?? [];
        if (models.Count > ModelCache.MaxModels)
        {
            errors["modelCache.models"] = [$"At most {ModelCache.MaxModels} models."];
        }
        else
        {
            for (var i = 0; i < models.Count; i++)
            {
                if (models[i] is not { } m || !ModelCache.IsValidModel(m.Model) || m.Bytes is not (>= 0 and <= ModelCache.MaxBytes))
                {
                    errors[$"modelCache.models[{i}]"] = [$"Needs model (1 to {DeploymentSpec.MaxModelLength} characters, {FreeText.Rule}) and bytes (0 to {ModelCache.MaxBytes})."];
                }
            }

            if (models.All(m => m is not null) && models.Select(m => m!.Model).Distinct(StringComparer.Ordinal).Count() != models.Count)
            {
                errors["modelCache.models"] = ["Each model may be listed once."];
            }
        }

        var failures = cache.PrefetchFailures ?? [];
        if (failures.Count > ModelCache.MaxModels)
        {
            errors["modelCache.prefetchFailures"] = [$"At most {ModelCache.MaxModels} failures."];
            return;
        }

        for (var i = 0; i < failures.Count; i++)
        {
            if (failures[i] is not { } f || !ModelCache.IsValidModel(f.Model) || f.Attempts is not (>= 1 and <= 1_000_000)
                || string.IsNullOrWhiteSpace(f.Error) || f.Error.Length > ModelCache.MaxErrorLength)
            {
                errors[$"modelCache.prefetchFailures[{i}]"] = [$"Needs model, attempts (1 to 1000000) and error (1 to {ModelCache.MaxErrorLength} characters)."];
            }
        }
    }

    /// <summary>The cache report of a validated request; null when the agent has no cache.</summary>
    public static ControlPlane.Contracts.Fleet.ModelCacheReport? ToModelCache(ModelCacheRequest? cache) =>
        cache is null
            ? null
            : new ControlPlane.Contracts.Fleet.ModelCacheReport(
                cache.FreeBytes!.Value,
                (cache.Models ?? []).Select(m => new WarmModel(m!.Model!, m.Bytes!.Value)).ToArray(),
                (cache.PrefetchFailures ?? []).Select(f => new PrefetchFailure(f!.Model!, f.Attempts!.Value, FreeText.Clean(f.Error!, ModelCache.MaxErrorLength))).ToArray());

    /// <summary>The inventory error of a validated request as stored: one line, without control or bidirectional formatting characters.</summary>
    public static string? CleanError(string? error) => error is null ? null : FreeText.Clean(error, MaxErrorLength);

    public static ReplicaState? ParseReplicaState(string? state) => state switch
    {
        "starting" => ReplicaState.Starting,
        "ready" => ReplicaState.Ready,
        "failed" => ReplicaState.Failed,
        _ => null,
    };

    /// <summary>The reports of a validated request; null when the agent sent no list (it says nothing about replicas).</summary>
    public static IReadOnlyList<ControlPlane.Contracts.Fleet.ReplicaReport>? ToReplicaReports(IReadOnlyList<ReplicaReport?>? replicas) =>
        replicas?.Select(r => new ControlPlane.Contracts.Fleet.ReplicaReport(r!.ReplicaId!, ParseReplicaState(r.State)!.Value)).ToArray();

    public static IReadOnlyList<GpuReading> ToReadings(IReadOnlyList<GpuReport?>? gpus) =>
        (gpus ?? []).Select(g => new GpuReading(
            g!.Index!.Value,
            g.Uuid!,
            g.Name!.Trim(),
            g.MemoryTotalMiB!.Value,
            g.MemoryUsedMiB,
            g.UtilizationPercent,
            g.TemperatureC,
            g.PowerWatts,
            g.EccUncorrected)).ToArray();

    private static List<string> Validate(GpuReport? gpu)
    {
        var problems = new List<string>();
        if (gpu is null)
        {
            problems.Add("Must be an object.");
            return problems;
        }

        if (gpu.Index is not (>= 0 and < MaxGpusPerNode))
        {
            problems.Add($"index: required, 0 to {MaxGpusPerNode - 1}.");
        }

        if (!FreeText.IsClean(gpu.Uuid, 128))
        {
            problems.Add($"uuid: required, at most 128 characters, {FreeText.Rule}.");
        }

        if (!FreeText.IsClean(gpu.Name, 128))
        {
            problems.Add($"name: required, at most 128 characters, {FreeText.Rule}.");
        }

        if (gpu.MemoryTotalMiB is not (> 0 and <= 16_777_216))
        {
            problems.Add("memoryTotalMiB: required, positive, at most 16 TiB.");
        }

        if (gpu.MemoryUsedMiB is < 0 || gpu.MemoryUsedMiB > gpu.MemoryTotalMiB)
        {
            problems.Add("memoryUsedMiB: between 0 and memoryTotalMiB.");
        }

        if (gpu.UtilizationPercent is < 0 or > 100)
        {
            problems.Add("utilizationPercent: between 0 and 100.");
        }

        if (gpu.TemperatureC is < -60 or > 250)
        {
            problems.Add("temperatureC: between -60 and 250.");
        }

        if (gpu.PowerWatts is { } power && (double.IsNaN(power) || power < 0 || power > 100_000))
        {
            problems.Add("powerWatts: between 0 and 100000.");
        }

        if (gpu.EccUncorrected is < 0)
        {
            problems.Add("eccUncorrected: not negative.");
        }

        return problems;
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
