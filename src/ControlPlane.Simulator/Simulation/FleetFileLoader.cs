using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.Domain;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Partners;
using ControlPlane.Domain.Placement;

namespace ControlPlane.Simulator.Simulation;

/// <summary>A fleet file that could not be read, with every problem found, each as <c>path: what is wrong</c>.</summary>
internal sealed class FleetFileException(string source, IReadOnlyList<string> errors)
    : Exception($"{source} is not a valid fleet file:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", errors)}")
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// Reads a fleet file (JSON, see <c>docs/simulator.md</c> for the schema) and validates all of it before the
/// simulation starts, so a mistake is reported with the field it is in rather than as an odd result hours later.
/// Deployments are checked with the product's own <see cref="DeploymentSpec.Validate"/>, and the reservations with
/// <see cref="Admission"/>: a fleet whose reservations could not be honoured is refused, as the control plane would.
/// </summary>
internal static class FleetFileLoader
{
    public const int MaxNodes = 20_000;
    public const int MaxGpusPerNode = 64;
    public const double MaxFailuresPerNodeDay = 100;
    public const int MaxLoadSeconds = 86_400;
    public const double MaxGBps = 1_000;
    public const double MaxCacheGB = 1_000_000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static FleetFile Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FleetFileException(path, [$"cannot be read: {e.Message}"]);
        }

        return Parse(json, path);
    }

    /// <summary>Parses and validates a fleet file's text; <paramref name="source"/> names it in errors.</summary>
    public static FleetFile Parse(string json, string source)
    {
        FleetFileDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<FleetFileDto>(json, Json);
        }
        catch (JsonException e)
        {
            throw new FleetFileException(source, [Describe(e)]);
        }

        if (dto is null)
        {
            throw new FleetFileException(source, ["is empty (null): expected an object"]);
        }

        var errors = new List<string>();
        var fleet = Validate(dto, errors);
        if (errors.Count > 0 || fleet is null)
        {
            throw new FleetFileException(source, errors);
        }

        return fleet;
    }

    /// <summary>The serializer's complaint without the internal type names it carries, at its JSON path and line.</summary>
    private static string Describe(JsonException e)
    {
        var at = $"{(string.IsNullOrEmpty(e.Path) ? "$" : e.Path)} (line {e.LineNumber + 1})";
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"{at}: is not a field of a fleet file (misspelt?)";
        }

        if (e.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"{at}: has the wrong type (a number, text, list or object where the schema wants another)";
        }

        return $"{at}: is not valid JSON: {e.Message}";
    }

    private static FleetFile? Validate(FleetFileDto dto, List<string> errors)
    {
        var regions = ValidateRegions(dto.Regions, errors);
        var loading = ValidateLoading(dto.Loading, errors);
        var groups = ValidateNodeGroups(dto.NodeGroups, regions, loading.Storage, errors);

        // Whether a deployment fits the fleet is only worth saying when the fleet itself is right.
        var fleetErrors = errors.Count;
        var models = ValidateModels(dto.Models, dto.LoadTimes, loading, errors);
        var failures = ValidateFailures(dto.Failures, errors);
        var scaleDownDelay = Autoscaler.DefaultScaleDownDelay;
        if (dto.Autoscaler?.ScaleDownDelaySeconds is { } delay)
        {
            if (delay is < 0 or > 86_400)
            {
                errors.Add("autoscaler.scaleDownDelaySeconds: must be between 0 and 86400");
            }
            else
            {
                scaleDownDelay = TimeSpan.FromSeconds(delay);
            }
        }

        var deployments = new List<SimulatedDeployment>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (d, i) in (dto.Dedicated ?? []).Select((d, i) => (d, i)))
        {
            AddIfValid(ValidateDeployment(d, $"dedicated[{i}]", DeploymentClass.Dedicated, models, groups, loading, fleetErrors == 0, ids, errors));
        }

        foreach (var (d, i) in (dto.Serverless ?? []).Select((d, i) => (d, i)))
        {
            AddIfValid(ValidateDeployment(d, $"serverless[{i}]", DeploymentClass.Serverless, models, groups, loading, fleetErrors == 0, ids, errors));
        }

        if (dto.Batch is { } batch)
        {
            AddIfValid(ValidateDeployment(batch, "batch", DeploymentClass.Batch, models, groups, loading, fleetErrors == 0, ids, errors));
        }

        if (deployments.Count == 0)
        {
            errors.Add("dedicated, serverless, batch: no deployment: the fleet has nothing to run");
        }

        var partners = ValidatePartners(dto.Partners, models, errors);

        if (errors.Count > 0)
        {
            return null;
        }

        var fleet = new FleetFile(
            string.IsNullOrWhiteSpace(dto.Name) ? "fleet" : dto.Name.Trim(),
            regions,
            groups,
            models.Values.ToArray(),
            failures,
            scaleDownDelay,
            deployments)
        {
            Partners = partners,
            Loading = loading,
        };
        CheckReservationsFit(fleet, errors);
        return fleet;

        void AddIfValid(SimulatedDeployment? deployment)
        {
            if (deployment is not null)
            {
                deployments.Add(deployment);
            }
        }
    }

    /// <summary>Partners as the admin API takes them (<see cref="Partner.Validate"/>), serving models of the fleet file.</summary>
    private static Partner[] ValidatePartners(PartnerDto[]? partners, Dictionary<string, FleetModel> models, List<string> errors)
    {
        var valid = new List<Partner>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (p, i) in (partners ?? []).Select((p, i) => (p, i)))
        {
            var at = $"partners[{i}]";
            var before = errors.Count;
            if (p.PartnerId is not null && !ids.Add(p.PartnerId))
            {
                errors.Add($"{at}.partnerId: '{p.PartnerId}' is the id of an earlier partner");
            }

            foreach (var model in (p.Models ?? []).Where(m => m is null || !models.ContainsKey(m)))
            {
                errors.Add($"{at}.models: '{model}' is not one of models");
            }

            if (p.UsdPerMillionTokens is null)
            {
                errors.Add($"{at}.usdPerMillionTokens: is required: what the partner charges for a million tokens, 0 or more");
            }

            if (p.CapacityTokensPerSecond is null)
            {
                errors.Add($"{at}.capacityTokensPerSecond: is required: more than 0 and at most 1e9");
            }

            var partner = new Partner(p.PartnerId ?? "", p.Models ?? [], p.UsdPerMillionTokens ?? 0, p.CapacityTokensPerSecond ?? 1);
            foreach (var (field, messages) in partner.Validate().OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                // The fleet file names the price as deployments do.
                var name = field == "usdPer1MTokens" ? "usdPerMillionTokens" : field;
                errors.AddRange(messages.Select(m => $"{at}.{name}: {m}"));
            }

            if (errors.Count == before)
            {
                valid.Add(partner);
            }
        }

        return valid.ToArray();
    }

    private static string[] ValidateRegions(string[]? regions, List<string> errors)
    {
        if (regions is null || regions.Length == 0)
        {
            errors.Add("regions: is required: a list of region ids");
            return [];
        }

        for (var i = 0; i < regions.Length; i++)
        {
            if (!Ids.IsValid(regions[i]))
            {
                errors.Add($"regions[{i}]: '{regions[i]}' is not an id ({Ids.Rule})");
            }
        }

        foreach (var duplicate in regions.GroupBy(r => r, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"regions: '{duplicate.Key}' is listed twice");
        }

        return regions;
    }

    private static FleetLoading ValidateLoading(LoadingDto? dto, List<string> errors)
    {
        var defaults = FleetLoading.Default;
        if (dto is null)
        {
            return defaults;
        }

        var engine = Positive(dto.EngineStartSeconds, "loading.engineStartSeconds", defaults.EngineStartSeconds, MaxLoadSeconds, errors, zeroAllowed: true);
        var bytes = Positive(dto.BytesPerParameter, "loading.bytesPerParameter", defaults.BytesPerParameter, 8, errors);
        var storage = Storage(dto.ObjectStoreGBps, dto.CacheGBps, dto.CacheGB, dto.SleepGB, dto.HostToGpuGBps, "loading", defaults.Storage, errors);
        return new FleetLoading(engine, bytes, storage)
        {
            EngineWakeSeconds = Positive(dto.EngineWakeSeconds, "loading.engineWakeSeconds", defaults.EngineWakeSeconds, MaxLoadSeconds, errors, zeroAllowed: true),
            ReactionSeconds = Positive(dto.ReactionSeconds, "loading.reactionSeconds", defaults.ReactionSeconds, MaxLoadSeconds, errors, zeroAllowed: true),
        };
    }

    /// <summary>A node storage from the fields given, each defaulting to <paramref name="defaults"/>.</summary>
    private static NodeStorage Storage(double? objectStoreGBps, double? cacheGBps, double? cacheGB, double? sleepGB, double? hostToGpuGBps, string at, NodeStorage defaults, List<string> errors) => new(
        Positive(objectStoreGBps, $"{at}.objectStoreGBps", defaults.ObjectStoreGBps, MaxGBps, errors),
        Positive(cacheGBps, $"{at}.cacheGBps", defaults.CacheGBps, MaxGBps, errors),
        Positive(cacheGB, $"{at}.cacheGB", defaults.CacheGB, MaxCacheGB, errors, zeroAllowed: true))
    {
        SleepGB = Positive(sleepGB, $"{at}.sleepGB", defaults.SleepGB, MaxCacheGB, errors, zeroAllowed: true),
        HostToGpuGBps = Positive(hostToGpuGBps, $"{at}.hostToGpuGBps", defaults.HostToGpuGBps, MaxGBps, errors),
    };

    private static double Positive(double? value, string at, double fallback, double max, List<string> errors, bool zeroAllowed = false)
    {
        if (value is not { } v)
        {
            return fallback;
        }

        if (!double.IsFinite(v) || v > max || v < 0 || (v == 0 && !zeroAllowed))
        {
            errors.Add($"{at}: must be {(zeroAllowed ? "0 or more" : "more than 0")} and at most {max.ToString(CultureInfo.InvariantCulture)}");
            return fallback;
        }

        return v;
    }

    private static FleetNodeGroup[] ValidateNodeGroups(NodeGroupDto[]? groups, string[] regions, NodeStorage storage, List<string> errors)
    {
        if (groups is null || groups.Length == 0)
        {
            errors.Add("nodeGroups: is required: at least one group of nodes");
            return [];
        }

        var valid = new List<FleetNodeGroup>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < groups.Length; i++)
        {
            var g = groups[i];
            var at = $"nodeGroups[{i}]";
            var before = errors.Count;
            if (!Ids.IsValid(g.Name))
            {
                errors.Add($"{at}.name: is required: {Ids.Rule} (node ids are built from it)");
            }
            else if (!names.Add(g.Name!))
            {
                errors.Add($"{at}.name: '{g.Name}' is the name of an earlier group");
            }

            if (g.Region is null || !regions.Contains(g.Region, StringComparer.Ordinal))
            {
                errors.Add($"{at}.region: '{g.Region}' is not one of regions ({string.Join(", ", regions)})");
            }

            if (!Ids.IsValid(g.Sku))
            {
                errors.Add($"{at}.sku: is required: an id such as h100-sxm-80gb");
            }

            if (g.GpusPerNode is not (>= 1 and <= MaxGpusPerNode))
            {
                errors.Add($"{at}.gpusPerNode: must be between 1 and {MaxGpusPerNode}");
            }

            long memoryMiB = 0;
            if ((g.GpuMemoryGiB is null) == (g.GpuMemoryMiB is null))
            {
                errors.Add($"{at}: give exactly one of gpuMemoryGiB and gpuMemoryMiB");
            }
            else if (g.GpuMemoryGiB is { } gib)
            {
                if (gib is < 1 or > DeploymentSpec.MaxGpuMemoryGiB)
                {
                    errors.Add($"{at}.gpuMemoryGiB: must be between 1 and {DeploymentSpec.MaxGpuMemoryGiB}");
                }

                memoryMiB = gib * 1024L;
            }
            else if (g.GpuMemoryMiB is { } mib)
            {
                if (mib is < 1 or > DeploymentSpec.MaxGpuMemoryGiB * 1024L)
                {
                    errors.Add($"{at}.gpuMemoryMiB: must be between 1 and {DeploymentSpec.MaxGpuMemoryGiB * 1024L}");
                }

                memoryMiB = mib;
            }

            if (g.Count is not (>= 1 and <= MaxNodes))
            {
                errors.Add($"{at}.count: must be between 1 and {MaxNodes}");
            }

            var ownership = g.Ownership switch
            {
                "owned" => Ownership.Owned,
                "rented" => Ownership.Rented,
                _ => (Ownership?)null,
            };
            if (ownership is null)
            {
                errors.Add($"{at}.ownership: must be 'owned' or 'rented', got '{g.Ownership}'");
            }

            if (g.HourlyCostUsd is not { } cost || cost < 0)
            {
                errors.Add($"{at}.hourlyCostUsd: is required: what one node costs per hour, 0 or more");
            }

            var own = Storage(g.ObjectStoreGBps, g.CacheGBps, g.CacheGB, g.SleepGB, g.HostToGpuGBps, at, storage, errors);
            if (errors.Count == before)
            {
                valid.Add(new FleetNodeGroup(g.Name!, g.Region!, g.Sku!, g.GpusPerNode!.Value, memoryMiB, g.Count!.Value, ownership!.Value, g.HourlyCostUsd!.Value)
                {
                    Storage = own,
                });
            }
        }

        if (valid.Sum(g => (long)g.Count) > MaxNodes)
        {
            errors.Add($"nodeGroups: more than {MaxNodes} nodes in all");
        }

        return valid.ToArray();
    }

    private static Dictionary<string, FleetModel> ValidateModels(ModelDto[]? models, LoadTimeDto[]? loadTimes, FleetLoading loading, List<string> errors)
    {
        var bySize = new List<(decimal MaxSizeB, int Seconds)>();
        for (var i = 0; i < (loadTimes?.Length ?? 0); i++)
        {
            var l = loadTimes![i];
            var ok = true;
            if (l.MaxSizeB is not { } max || max <= 0)
            {
                errors.Add($"loadTimes[{i}].maxSizeB: is required: the largest model size (billions of parameters) the entry covers, more than 0");
                ok = false;
            }

            if (l.LoadSeconds is not (>= 0 and <= MaxLoadSeconds))
            {
                errors.Add($"loadTimes[{i}].loadSeconds: is required: between 0 and {MaxLoadSeconds}");
                ok = false;
            }

            if (ok)
            {
                bySize.Add((l.MaxSizeB!.Value, l.LoadSeconds!.Value));
            }
        }

        var valid = new Dictionary<string, FleetModel>(StringComparer.Ordinal);
        if (models is null || models.Length == 0)
        {
            errors.Add("models: is required: the models the deployments serve");
            return valid;
        }

        for (var i = 0; i < models.Length; i++)
        {
            var m = models[i];
            var at = $"models[{i}]";
            if (string.IsNullOrWhiteSpace(m.Name) || m.Name.Length > DeploymentSpec.MaxModelLength || m.Name.Any(char.IsControl))
            {
                errors.Add($"{at}.name: is required: 1 to {DeploymentSpec.MaxModelLength} characters, {FreeText.Rule}");
                continue;
            }

            if (valid.ContainsKey(m.Name))
            {
                errors.Add($"{at}.name: '{m.Name}' is listed twice");
                continue;
            }

            if (m.SizeB is not { } size || size <= 0)
            {
                errors.Add($"{at}.sizeB: is required: billions of parameters, more than 0");
                continue;
            }

            var weights = (double)size * loading.BytesPerParameter;
            if (m.WeightsGB is { } given)
            {
                if (!double.IsFinite(given) || given <= 0 || given > MaxCacheGB)
                {
                    errors.Add($"{at}.weightsGB: must be more than 0 and at most {MaxCacheGB}");
                    continue;
                }

                weights = given;
            }

            int? seconds;
            if (m.LoadSeconds is { } own)
            {
                if (own is < 0 or > MaxLoadSeconds)
                {
                    errors.Add($"{at}.loadSeconds: must be between 0 and {MaxLoadSeconds}");
                    continue;
                }

                seconds = own;
            }
            else if (bySize.Where(l => l.MaxSizeB >= size).OrderBy(l => l.MaxSizeB).Select(l => (int?)l.Seconds).FirstOrDefault() is { } fromSize)
            {
                seconds = fromSize;
            }
            else
            {
                // Neither given: the load time comes from the node's storage and whether it holds the weights.
                seconds = null;
            }

            valid[m.Name] = new FleetModel(m.Name, size, weights, seconds is { } fixedSeconds ? TimeSpan.FromSeconds(fixedSeconds) : null);
        }

        return valid;
    }

    private static FailureModel ValidateFailures(FailuresDto? failures, List<string> errors)
    {
        if (failures is null || failures.PerNodeDay is null or 0)
        {
            return FailureModel.None;
        }

        var ok = true;
        if (failures.PerNodeDay is not { } rate || !double.IsFinite(rate) || rate < 0 || rate > MaxFailuresPerNodeDay)
        {
            errors.Add($"failures.perNodeDay: must be between 0 and {MaxFailuresPerNodeDay}");
            ok = false;
        }

        if (failures.RepairMinutes is not { } repair || !double.IsFinite(repair) || repair <= 0 || repair > 100_000)
        {
            errors.Add("failures.repairMinutes: is required when nodes fail: more than 0, at most 100000");
            ok = false;
        }

        return ok ? new FailureModel(failures.PerNodeDay!.Value, TimeSpan.FromMinutes(failures.RepairMinutes!.Value)) : FailureModel.None;
    }

    private static SimulatedDeployment? ValidateDeployment(
        DeploymentDto d,
        string at,
        DeploymentClass cls,
        Dictionary<string, FleetModel> models,
        FleetNodeGroup[] groups,
        FleetLoading loading,
        bool groupsValid,
        HashSet<string> ids,
        List<string> errors)
    {
        var before = errors.Count;
        if (cls != DeploymentClass.Dedicated && d.CustomerId is not null)
        {
            errors.Add($"{at}.customerId: is only for dedicated deployments");
        }

        if (cls != DeploymentClass.Dedicated && d.ReservedReplicas is not null)
        {
            errors.Add($"{at}.reservedReplicas: is only for dedicated deployments");
        }

        if (cls == DeploymentClass.Dedicated && d.ReservedReplicas is not >= 1)
        {
            // The static policy gives a dedicated customer exactly its reservation: without one there is nothing to compare.
            errors.Add($"{at}.reservedReplicas: is required: at least 1 (the replicas a fixed silo would give the customer)");
        }

        if (d.DeploymentId is not null && Ids.IsValid(d.DeploymentId) && !ids.Add(d.DeploymentId))
        {
            errors.Add($"{at}.deploymentId: '{d.DeploymentId}' is the id of an earlier deployment");
        }

        FleetModel? model = null;
        if (d.Model is not null && !models.TryGetValue(d.Model, out model))
        {
            errors.Add($"{at}.model: '{d.Model}' is not one of models");
        }

        if (d.UsdPerMillionTokens is not { } price || price < 0)
        {
            errors.Add($"{at}.usdPerMillionTokens: is required: what a million served tokens sell at, 0 or more");
        }

        TrafficMapping? traffic = null;
        if (cls == DeploymentClass.Batch)
        {
            if (d.Traffic is not null)
            {
                errors.Add($"{at}.traffic: batch has no traffic: its backlog is always there");
            }
        }
        else if (d.Traffic is null)
        {
            errors.Add($"{at}.traffic: is required: the trace that drives its demand");
        }
        else
        {
            traffic = ValidateTraffic(d.Traffic, $"{at}.traffic", errors);
        }

        var gpus = d.GpusPerReplica ?? 0;
        var maxReplicas = d.MaxReplicas ?? (cls == DeploymentClass.Batch && gpus > 0 ? DefaultBatchReplicas(groups, d, gpus) : 0);

        // A trace-driven endpoint keeps one replica warm unless told otherwise, so its first request need not wait for a load.
        var minReplicas = d.MinReplicas ?? (cls == DeploymentClass.Batch ? 0 : Math.Min(1, Math.Max(maxReplicas, 0)));
        var spec = new DeploymentSpec(
            d.DeploymentId ?? "",
            d.Model ?? "",
            cls,
            d.CustomerId,
            gpus,
            d.MinGpuMemoryGiB ?? 0,
            d.Skus,
            d.Regions,
            minReplicas,
            d.ReservedReplicas ?? 0,
            maxReplicas,
            d.TokensPerSecondPerReplica ?? 0,
            d.HeadroomPercent);
        foreach (var (field, messages) in spec.Validate().OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            // Fields this file does not let one set (the class) cannot be wrong; the others keep their names.
            errors.AddRange(messages.Select(m => $"{at}.{field}: {m}"));
        }

        if (errors.Count != before)
        {
            return null;
        }

        if (groupsValid && !groups.Any(g => PlacementPlanner.IsCompatible(spec, g.Node(1))))
        {
            errors.Add($"{at}: no node group has {spec.GpusPerReplica} GPUs of at least {spec.MinGpuMemoryGiB} GiB in the allowed SKUs and regions");
            return null;
        }

        // What a load may take: cold, on the slowest node group the deployment may run on.
        var coldest = groups.Where(g => PlacementPlanner.IsCompatible(spec, g.Node(1))).Select(g => loading.LoadTime(model!, g, warm: false)).DefaultIfEmpty(TimeSpan.Zero).Max();
        return new SimulatedDeployment(spec, traffic, d.UsdPerMillionTokens!.Value, coldest, model);
    }

    private static TrafficMapping? ValidateTraffic(TrafficDto t, string at, List<string> errors)
    {
        var before = errors.Count;
        if (t.Trace is not null && t.Trace.Trim().Length == 0)
        {
            errors.Add($"{at}.trace: must not be empty (leave it out for the first --trace)");
        }

        if (t.RateScale is not { } scale || !double.IsFinite(scale) || scale <= 0)
        {
            errors.Add($"{at}.rateScale: is required: what the trace's token rate is multiplied by, more than 0");
        }

        if (t.Stretch is { } stretch && (!double.IsFinite(stretch) || stretch <= 0 || stretch > 10_000))
        {
            errors.Add($"{at}.stretch: must be more than 0 and at most 10000 (24 plays an hour of trace over a day)");
        }

        if (t.ShiftHours is { } shift && (!double.IsFinite(shift) || Math.Abs(shift) > 100_000))
        {
            errors.Add($"{at}.shiftHours: must be a number of hours between -100000 and 100000");
        }

        if (t.SmoothingSeconds is { } smoothing && (!double.IsFinite(smoothing) || smoothing <= 0 || smoothing > 86_400))
        {
            errors.Add($"{at}.smoothingSeconds: must be more than 0 and at most 86400");
        }

        return errors.Count != before
            ? null
            : new TrafficMapping(
                t.Trace?.Trim(),
                t.RateScale!.Value,
                t.Stretch ?? TrafficMapping.DefaultStretch,
                t.ShiftHours ?? 0,
                t.SmoothingSeconds ?? TrafficMapping.DefaultSmoothingSeconds);
    }

    /// <summary>Batch without maxReplicas may fill every GPU it could run on.</summary>
    private static int DefaultBatchReplicas(FleetNodeGroup[] groups, DeploymentDto d, int gpus)
    {
        var probe = new DeploymentSpec("probe", "probe", DeploymentClass.Batch, null, gpus, d.MinGpuMemoryGiB ?? 0, d.Skus, d.Regions, 0, 0, 1, 1);
        var replicas = groups.Where(g => PlacementPlanner.IsCompatible(probe, g.Node(1))).Sum(g => (long)g.Count * (g.GpusPerNode / gpus));
        return (int)Math.Clamp(replicas, 1, DeploymentSpec.MaxReplicasLimit);
    }

    private static void CheckReservationsFit(FleetFile fleet, List<string> errors)
    {
        var dedicated = fleet.Deployments.Where(d => d.Class == DeploymentClass.Dedicated).Select(d => d.Spec).ToArray();
        if (dedicated.Length > 0 && Admission.Reserve(new FleetSnapshot(fleet.Nodes()), dedicated) is null)
        {
            var reserved = dedicated.Sum(s => s.ReservedReplicas * s.GpusPerReplica);
            errors.Add($"dedicated: the reservations ({reserved} GPUs in all) do not fit the fleet's {fleet.GpuCount} GPUs with their SKU, memory and region constraints: admission control would refuse them");
        }
    }

    private sealed class FleetFileDto
    {
        public string? Name { get; init; }
        public string[]? Regions { get; init; }
        public NodeGroupDto[]? NodeGroups { get; init; }
        public ModelDto[]? Models { get; init; }
        public LoadTimeDto[]? LoadTimes { get; init; }
        public FailuresDto? Failures { get; init; }
        public AutoscalerDto? Autoscaler { get; init; }
        public DeploymentDto[]? Dedicated { get; init; }
        public DeploymentDto[]? Serverless { get; init; }
        public DeploymentDto? Batch { get; init; }
        public PartnerDto[]? Partners { get; init; }
        public LoadingDto? Loading { get; init; }
    }

    private sealed class LoadingDto
    {
        public double? EngineStartSeconds { get; init; }
        public double? BytesPerParameter { get; init; }
        public double? ObjectStoreGBps { get; init; }
        public double? CacheGBps { get; init; }
        public double? CacheGB { get; init; }
        public double? SleepGB { get; init; }
        public double? HostToGpuGBps { get; init; }
        public double? EngineWakeSeconds { get; init; }
        public double? ReactionSeconds { get; init; }
    }

    private sealed class PartnerDto
    {
        public string? PartnerId { get; init; }
        public string[]? Models { get; init; }
        public decimal? UsdPerMillionTokens { get; init; }
        public decimal? CapacityTokensPerSecond { get; init; }
    }

    private sealed class NodeGroupDto
    {
        public string? Name { get; init; }
        public string? Region { get; init; }
        public string? Sku { get; init; }
        public int? GpusPerNode { get; init; }
        public int? GpuMemoryGiB { get; init; }
        public long? GpuMemoryMiB { get; init; }
        public int? Count { get; init; }
        public string? Ownership { get; init; }
        public decimal? HourlyCostUsd { get; init; }
        public double? ObjectStoreGBps { get; init; }
        public double? CacheGBps { get; init; }
        public double? CacheGB { get; init; }
        public double? SleepGB { get; init; }
        public double? HostToGpuGBps { get; init; }
    }

    private sealed class ModelDto
    {
        public string? Name { get; init; }
        public decimal? SizeB { get; init; }
        public double? WeightsGB { get; init; }
        public int? LoadSeconds { get; init; }
    }

    private sealed class LoadTimeDto
    {
        public decimal? MaxSizeB { get; init; }
        public int? LoadSeconds { get; init; }
    }

    private sealed class FailuresDto
    {
        public double? PerNodeDay { get; init; }
        public double? RepairMinutes { get; init; }
    }

    private sealed class AutoscalerDto
    {
        public int? ScaleDownDelaySeconds { get; init; }
    }

    private sealed class DeploymentDto
    {
        public string? DeploymentId { get; init; }
        public string? CustomerId { get; init; }
        public string? Model { get; init; }
        public int? GpusPerReplica { get; init; }
        public int? MinGpuMemoryGiB { get; init; }
        public string[]? Skus { get; init; }
        public string[]? Regions { get; init; }
        public int? MinReplicas { get; init; }
        public int? ReservedReplicas { get; init; }
        public int? MaxReplicas { get; init; }
        public decimal? TokensPerSecondPerReplica { get; init; }
        public decimal? UsdPerMillionTokens { get; init; }
        public int? HeadroomPercent { get; init; }
        public TrafficDto? Traffic { get; init; }
    }

    private sealed class TrafficDto
    {
        public string? Trace { get; init; }
        public double? RateScale { get; init; }
        public double? Stretch { get; init; }
        public double? ShiftHours { get; init; }
        public double? SmoothingSeconds { get; init; }
    }
}
