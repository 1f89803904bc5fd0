using System.Text.Json.Nodes;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Simulator.Simulation;
using ControlPlane.Testing;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class FleetFileLoaderTests
{
    /// <summary>The smallest fleet file that is valid; each error case changes one thing.</summary>
    private const string Valid = """
        {
          "regions": ["us-east"],
          "nodeGroups": [
            { "name": "h100", "region": "us-east", "sku": "h100-sxm-80gb", "gpusPerNode": 8, "gpuMemoryGiB": 80, "count": 2, "ownership": "owned", "hourlyCostUsd": 16 }
          ],
          "models": [ { "name": "llama-70b", "sizeB": 70 } ],
          "loadTimes": [ { "maxSizeB": 100, "loadSeconds": 300 } ],
          "dedicated": [
            { "deploymentId": "ded", "customerId": "acme", "model": "llama-70b", "gpusPerReplica": 4, "minGpuMemoryGiB": 80,
              "reservedReplicas": 2, "maxReplicas": 4, "tokensPerSecondPerReplica": 6000, "usdPerMillionTokens": 0.6,
              "traffic": { "rateScale": 1 } }
          ],
          "batch": { "deploymentId": "batch", "model": "llama-70b", "gpusPerReplica": 1, "tokensPerSecondPerReplica": 8000, "usdPerMillionTokens": 0.1 }
        }
        """;

    [Fact]
    public void Parse_MinimalFile_FillsTheDefaults()
    {
        var fleet = FleetFileLoader.Parse(Valid, "test");

        Assert.Equal("fleet", fleet.Name);
        Assert.Equal((2, 16, 32m), (fleet.NodeCount, fleet.GpuCount, fleet.HourlyCostUsd));
        Assert.Equal(["h100-001", "h100-002"], fleet.Nodes().Select(n => n.NodeId));
        Assert.Equal(FailureModel.None, fleet.Failures);
        Assert.Equal(TimeSpan.FromSeconds(60), fleet.ScaleDownDelay);
        var dedicated = fleet.Deployments[0];
        Assert.Equal(
            new DeploymentSpec("ded", "llama-70b", DeploymentClass.Dedicated, "acme", 4, 80, null, null, 1, 2, 4, 6000),
            dedicated.Spec);
        Assert.Equal(new TrafficMapping(null, 1, 1, 0, 60), dedicated.Traffic);
        Assert.Equal((0.6m, TimeSpan.FromSeconds(300)), (dedicated.UsdPerMillionTokens, dedicated.LoadTime));

        // Batch without maxReplicas may fill every GPU it fits on.
        var batch = fleet.Deployments[1];
        Assert.Equal((DeploymentClass.Batch, 0, 16), (batch.Class, batch.Spec.MinReplicas, batch.Spec.MaxReplicas));
        Assert.Null(batch.Traffic);
    }

    [Fact]
    public void Load_ShippedFleet1k_IsAThousandGpusOfSeveralSkusRegionsAndOwners()
    {
        var fleet = FleetFileLoader.Load(RepoPaths.Combine("deploy", "sim", "fleet-1k.json"));

        Assert.Equal("fleet-1k", fleet.Name);
        Assert.Equal((125, 1_000), (fleet.NodeCount, fleet.GpuCount));
        Assert.Equal(["ap-southeast", "eu-west", "us-east"], fleet.NodeGroups.Select(g => g.Region).Distinct().Order());
        Assert.Equal(["a100-80gb", "h100-sxm-80gb", "h200-141gb", "l40s-48gb"], fleet.NodeGroups.Select(g => g.Sku).Distinct().Order());
        Assert.Equal([Ownership.Owned, Ownership.Rented], fleet.NodeGroups.Select(g => g.Ownership).Distinct().Order());
        var dedicated = fleet.Deployments.Where(d => d.Class == DeploymentClass.Dedicated).ToArray();
        Assert.Equal(8, dedicated.Length);
        Assert.Equal(4, dedicated.Select(d => d.Spec.Model).Distinct().Count());
        Assert.Equal(432, dedicated.Sum(d => d.Spec.ReservedReplicas * d.Spec.GpusPerReplica));
        Assert.Equal(3, fleet.Deployments.Count(d => d.Class == DeploymentClass.Serverless));
        Assert.Single(fleet.Deployments, d => d.Class == DeploymentClass.Batch);

        // Load times come from node storage: 45 s of engine start, then 140 GB of 16-bit weights at 1 GB/s from the
        // object store (cold) or 4 GB/s from the node's cache (warm).
        var llama70b = fleet.Models.Single(m => m.Name == "llama-3.1-70b");
        var h100 = fleet.NodeGroups.First(g => g.Sku == "h100-sxm-80gb");
        Assert.Equal((140.0, (TimeSpan?)null), (llama70b.WeightsGB, llama70b.FixedLoadTime));
        Assert.Equal(TimeSpan.FromSeconds(185), fleet.Loading.LoadTime(llama70b, h100, warm: false));
        Assert.Equal(TimeSpan.FromSeconds(80), fleet.Loading.LoadTime(llama70b, h100, warm: true));
        Assert.Equal(3_000, h100.Storage!.CacheGB);
    }

    [Theory]
    [InlineData("bursty", 576)]
    [InlineData("dedicated-heavy", 688)]
    public void Load_ShippedFleetsUnlikeFleet1k_AreValid(string name, int gpus)
    {
        var fleet = FleetFileLoader.Load(RepoPaths.Combine("deploy", "sim", $"fleet-{name}.json"));

        Assert.Equal(gpus, fleet.GpuCount);
        Assert.Contains(fleet.Deployments, d => d.Class == DeploymentClass.Dedicated);
    }

    [Fact]
    public void Parse_FixedLoadTimes_TakeThePlaceOfStorage()
    {
        var fleet = FleetFileLoader.Parse(Valid, "fleet.json");

        var model = Assert.Single(fleet.Models);
        Assert.Equal(TimeSpan.FromSeconds(300), model.FixedLoadTime);
        Assert.Equal(TimeSpan.FromSeconds(300), fleet.Loading.LoadTime(model, fleet.NodeGroups[0], warm: true));
    }

    [Fact]
    public void Parse_NodeGroupStorage_OverridesTheFleetsLoading()
    {
        var json = JsonNode.Parse(Valid)!.AsObject();
        json.Remove("loadTimes");
        json["loading"] = new JsonObject { ["engineStartSeconds"] = 30, ["objectStoreGBps"] = 2.0, ["cacheGB"] = 500, ["sleepGB"] = 800, ["engineWakeSeconds"] = 3, ["reactionSeconds"] = 4 };
        json["nodeGroups"]![0]!["cacheGBps"] = 7.0;
        json["nodeGroups"]![0]!["hostToGpuGBps"] = 40.0;

        var fleet = FleetFileLoader.Parse(json.ToJsonString(), "fleet.json");

        var group = fleet.NodeGroups[0];
        Assert.Equal(new NodeStorage(2.0, 7.0, 500) { SleepGB = 800, HostToGpuGBps = 40 }, group.Storage);
        Assert.Equal((3, 4), (fleet.Loading.EngineWakeSeconds, fleet.Loading.ReactionSeconds));
        var model = Assert.Single(fleet.Models);
        Assert.Null(model.FixedLoadTime);
        Assert.Equal(TimeSpan.FromSeconds(30 + (model.WeightsGB / 2.0)), fleet.Loading.LoadTime(model, group, warm: false));
        Assert.Equal(TimeSpan.FromSeconds(30 + (model.WeightsGB / 7.0)), fleet.Loading.LoadTime(model, group, warm: true));
    }

    [Fact]
    public void Load_ShippedSmallFleet_Is48Gpus()
    {
        var fleet = FleetFileLoader.Load(RepoPaths.Combine("deploy", "sim", "fleet-small.json"));

        Assert.Equal(("fleet-small", 6, 48), (fleet.Name, fleet.NodeCount, fleet.GpuCount));
        Assert.Equal(["chat", "search", "sl-llama-8b", "batch-llama-8b"], fleet.Deployments.Select(d => d.Id));
    }

    [Theory]
    [InlineData("no-regions", "regions: is required: a list of region ids")]
    [InlineData("gpus-per-node-0", "nodeGroups[0].gpusPerNode: must be between 1 and 64")]
    [InlineData("unknown-region", "nodeGroups[0].region: 'mars' is not one of regions (us-east)")]
    [InlineData("both-memories", "nodeGroups[0]: give exactly one of gpuMemoryGiB and gpuMemoryMiB")]
    [InlineData("leased", "nodeGroups[0].ownership: must be 'owned' or 'rented', got 'leased'")]
    [InlineData("negative-cost", "nodeGroups[0].hourlyCostUsd: is required: what one node costs per hour, 0 or more")]
    [InlineData("unknown-model", "dedicated[0].model: 'gpt-9' is not one of models")]
    [InlineData("slow-store", "loading.objectStoreGBps: must be more than 0 and at most 1000")]
    [InlineData("bad-weights", "models[0].weightsGB: must be more than 0 and at most 1000000")]
    [InlineData("negative-sleep", "loading.sleepGB: must be 0 or more and at most 1000000")]
    [InlineData("no-pcie", "nodeGroups[0].hostToGpuGBps: must be more than 0 and at most 1000")]
    [InlineData("bad-partner", "partners[0].capacityTokensPerSecond: is required: more than 0 and at most 1e9")]
    [InlineData("bad-headroom", "dedicated[0].headroomPercent: must be between 0 and 1000 when given (leave it out to learn it from the deployment's traffic)")]
    [InlineData("no-reservation", "dedicated[0].reservedReplicas: is required: at least 1 (the replicas a fixed silo would give the customer)")]
    [InlineData("no-throughput", "dedicated[0].tokensPerSecondPerReplica: must be more than 0 and at most 10000000")]
    [InlineData("no-customer", "dedicated[0].customerId: is required for a dedicated deployment: 1 to 100 letters, digits, '-', '_' or '.', starting with a letter or digit")]
    [InlineData("no-traffic", "dedicated[0].traffic: is required: the trace that drives its demand")]
    [InlineData("zero-rate", "dedicated[0].traffic.rateScale: is required: what the trace's token rate is multiplied by, more than 0")]
    [InlineData("batch-traffic", "batch.traffic: batch has no traffic: its backlog is always there")]
    [InlineData("duplicate-id", "batch.deploymentId: 'ded' is the id of an earlier deployment")]
    [InlineData("no-price", "batch.usdPerMillionTokens: is required: what a million served tokens sell at, 0 or more")]
    [InlineData("too-much-memory", "dedicated[0]: no node group has 4 GPUs of at least 141 GiB in the allowed SKUs and regions")]
    [InlineData("repair-missing", "failures.repairMinutes: is required when nodes fail: more than 0, at most 100000")]
    [InlineData("too-many-reserved", "dedicated: the reservations (20 GPUs in all) do not fit the fleet's 16 GPUs with their SKU, memory and region constraints: admission control would refuse them")]
    public void Parse_OneMistake_NamesTheFieldAndWhy(string mistake, string expected)
    {
        var json = JsonNode.Parse(Valid)!.AsObject();
        var group = json["nodeGroups"]![0]!.AsObject();
        var dedicated = json["dedicated"]![0]!.AsObject();
        var batch = json["batch"]!.AsObject();
        switch (mistake)
        {
            case "no-regions": json.Remove("regions"); break;
            case "gpus-per-node-0": group["gpusPerNode"] = 0; break;
            case "unknown-region": group["region"] = "mars"; break;
            case "both-memories": group["gpuMemoryMiB"] = 81_559; break;
            case "leased": group["ownership"] = "leased"; break;
            case "negative-cost": group["hourlyCostUsd"] = -1; break;
            case "unknown-model": dedicated["model"] = "gpt-9"; break;
            case "slow-store": json["loading"] = new JsonObject { ["objectStoreGBps"] = 0 }; break;
            case "bad-weights": json["models"]![0]!["weightsGB"] = -1; break;
            case "negative-sleep": json["loading"] = new JsonObject { ["sleepGB"] = -1 }; break;
            case "no-pcie": group["hostToGpuGBps"] = 0; break;
            case "bad-partner": json["partners"] = new JsonArray(new JsonObject { ["partnerId"] = "p", ["models"] = new JsonArray("llama-70b"), ["usdPerMillionTokens"] = 1 }); break;
            case "bad-headroom": dedicated["headroomPercent"] = 5_000; break;
            case "no-reservation": dedicated.Remove("reservedReplicas"); break;
            case "no-throughput": dedicated["tokensPerSecondPerReplica"] = 0; break;
            case "no-customer": dedicated.Remove("customerId"); break;
            case "no-traffic": dedicated.Remove("traffic"); break;
            case "zero-rate": dedicated["traffic"]!["rateScale"] = 0; break;
            case "batch-traffic": batch["traffic"] = new JsonObject { ["rateScale"] = 1 }; break;
            case "duplicate-id": batch["deploymentId"] = "ded"; break;
            case "no-price": batch.Remove("usdPerMillionTokens"); break;
            case "too-much-memory": dedicated["minGpuMemoryGiB"] = 141; break;
            case "repair-missing": json["failures"] = new JsonObject { ["perNodeDay"] = 0.5 }; break;
            case "too-many-reserved": dedicated["reservedReplicas"] = 5; dedicated["maxReplicas"] = 5; break;
            default: throw new ArgumentException(mistake, nameof(mistake));
        }

        var error = Assert.Throws<FleetFileException>(() => FleetFileLoader.Parse(json.ToJsonString(), "fleet.json"));

        Assert.Contains(expected, error.Errors);
        Assert.StartsWith("fleet.json is not a valid fleet file:", error.Message);
    }

    [Fact]
    public void Parse_MisspelledField_IsRefusedWithItsPathAndLine()
    {
        var json = Valid.Replace("\"gpusPerNode\"", "\"gpusPerNod\"");

        var error = Assert.Throws<FleetFileException>(() => FleetFileLoader.Parse(json, "fleet.json"));

        Assert.Equal(["$.nodeGroups[0].gpusPerNod (line 4): is not a field of a fleet file (misspelt?)"], error.Errors);
    }

    [Fact]
    public void Parse_TextWhereANumberBelongs_IsRefusedWithItsPath()
    {
        var json = Valid.Replace("\"count\": 2", "\"count\": \"two\"");

        var error = Assert.Throws<FleetFileException>(() => FleetFileLoader.Parse(json, "fleet.json"));

        Assert.Equal(["$.nodeGroups[0].count (line 4): has the wrong type (a number, text, list or object where the schema wants another)"], error.Errors);
    }

    [Fact]
    public void Parse_SeveralMistakes_ReportsEach()
    {
        var json = JsonNode.Parse(Valid)!.AsObject();
        json["nodeGroups"]![0]!["count"] = 0;
        json["dedicated"]![0]!["model"] = "gpt-9";

        var error = Assert.Throws<FleetFileException>(() => FleetFileLoader.Parse(json.ToJsonString(), "fleet.json"));

        Assert.Equal(
            ["nodeGroups[0].count: must be between 1 and 20000", "dedicated[0].model: 'gpt-9' is not one of models"],
            error.Errors);
    }

    [Fact]
    public void Load_MissingFile_SaysItCannotBeRead()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-fleet-{Guid.NewGuid():N}.json");

        var error = Assert.Throws<FleetFileException>(() => FleetFileLoader.Load(path));

        Assert.StartsWith("cannot be read: ", error.Errors.Single());
    }
}
