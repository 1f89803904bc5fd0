using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Tests.Deployments;

public sealed class DeploymentSpecTests
{
    private static readonly DeploymentSpec Dedicated = new(
        "acme-chat", "llama-3.1-70b", DeploymentClass.Dedicated, "acme", 4, 80, ["h100-sxm-80gb"], ["eu-west"], 1, 2, 6, 2_500m);

    private static readonly DeploymentSpec Serverless = new(
        "shared-8b", "llama-3.1-8b", DeploymentClass.Serverless, null, 1, 24, null, null, 0, 0, 20, 1_000m);

    [Fact]
    public void Validate_ValidSpecs_HaveNoErrors()
    {
        Assert.Empty(Dedicated.Validate());
        Assert.Empty(Serverless.Validate());
        Assert.Empty((Serverless with { Class = DeploymentClass.Batch }).Validate());
    }

    [Theory]
    [InlineData("deploymentId")]
    [InlineData("model")]
    [InlineData("class")]
    [InlineData("customerId")]
    [InlineData("gpusPerReplica")]
    [InlineData("minGpuMemoryGiB")]
    [InlineData("skus")]
    [InlineData("regions")]
    [InlineData("minReplicas")]
    [InlineData("reservedReplicas")]
    [InlineData("maxReplicas")]
    [InlineData("tokensPerSecondPerReplica")]
    [InlineData("image")]
    public void Validate_OneBadField_NamesIt(string field)
    {
        var spec = field switch
        {
            "deploymentId" => Dedicated with { DeploymentId = "a/b" },
            "model" => Dedicated with { Model = " " },
            "class" => Dedicated with { Class = (DeploymentClass)7 },
            "customerId" => Dedicated with { CustomerId = null },
            "gpusPerReplica" => Dedicated with { GpusPerReplica = 0 },
            "minGpuMemoryGiB" => Dedicated with { MinGpuMemoryGiB = -1 },
            "skus" => Dedicated with { Skus = [] },
            "regions" => Dedicated with { Regions = ["eu west"] },
            "minReplicas" => Dedicated with { MinReplicas = 7 },
            "reservedReplicas" => Dedicated with { ReservedReplicas = 7 },
            "maxReplicas" => Dedicated with { MaxReplicas = DeploymentSpec.MaxReplicasLimit + 1, MinReplicas = 0, ReservedReplicas = 0 },
            "image" => Dedicated with { Image = "vllm/vllm-openai:latest\n" },
            _ => Dedicated with { TokensPerSecondPerReplica = 0m },
        };

        Assert.Equal([field], spec.Validate().Keys);
    }

    [Theory]
    [InlineData("vllm/vllm-openai:v0.11.0", true)]
    [InlineData("registry.example.net:5000/org/engine@sha256:0a1b", true)]
    [InlineData("", false)]
    [InlineData("-v", false)]
    [InlineData("engine; rm -rf /", false)]
    [InlineData("engine:\"x\"", false)]
    public void IsValidImage_OciReferences_OnlyThose(string image, bool valid)
    {
        Assert.Equal(valid, DeploymentSpec.IsValidImage(image));
        Assert.False(DeploymentSpec.IsValidImage(new string('a', DeploymentSpec.MaxImageLength + 1)));
    }

    [Fact]
    public void Equals_AnotherImage_IsAnotherSpec()
    {
        Assert.NotEqual(Dedicated, Dedicated with { Image = "engine:2" });
        Assert.Equal(Dedicated with { Image = "engine:2" }, Dedicated with { Image = "engine:2" });
    }

    [Fact]
    public void Validate_CustomerOrReservationOnSharedClass_IsRefused()
    {
        Assert.Equal(["customerId", "reservedReplicas"], (Serverless with { CustomerId = "acme", ReservedReplicas = 1 }).Validate().Keys.Order());
    }

    [Fact]
    public void Validate_ThroughputWithTooManyDecimals_IsRefused()
    {
        Assert.Equal(["tokensPerSecondPerReplica"], (Serverless with { TokensPerSecondPerReplica = 0.0001m }).Validate().Keys);
        Assert.Empty((Serverless with { TokensPerSecondPerReplica = 0.001m }).Validate());
    }

    [Fact]
    public void TierOf_DedicatedOrdinalsBelowReserved_AreReservedThenBurst()
    {
        Assert.Equal(
            [ReplicaTier.Reserved, ReplicaTier.Reserved, ReplicaTier.Burst, ReplicaTier.Burst],
            Enumerable.Range(0, 4).Select(Dedicated.TierOf));
        Assert.Equal(ReplicaTier.Serverless, Serverless.TierOf(0));
        Assert.Equal(ReplicaTier.Batch, (Serverless with { Class = DeploymentClass.Batch }).TierOf(0));
    }

    [Fact]
    public void Tiers_PreemptOnlyStrictlyLower()
    {
        Assert.True(ReplicaTier.Serverless.CanPreempt(ReplicaTier.Batch));
        Assert.True(ReplicaTier.Reserved.CanPreempt(ReplicaTier.Burst));
        Assert.False(ReplicaTier.Burst.CanPreempt(ReplicaTier.Burst));
        Assert.False(ReplicaTier.Burst.CanPreempt(ReplicaTier.Reserved));
        Assert.False(ReplicaTier.Batch.CanPreempt(ReplicaTier.Batch));
    }

    [Fact]
    public void Equals_SameAllowListsInOtherArrays_AreEqual()
    {
        var copy = Dedicated with { Skus = ["h100-sxm-80gb"], Regions = ["eu-west"] };

        Assert.Equal(Dedicated, copy);
        Assert.Equal(Dedicated.GetHashCode(), copy.GetHashCode());
        Assert.NotEqual(Dedicated, Dedicated with { Skus = ["h200-141gb"] });
        Assert.NotEqual(Dedicated, Dedicated with { Skus = null });
    }

    [Theory]
    [InlineData(0, 1_500)]
    [InlineData(1, 500)]
    [InlineData(2, 0)]
    public void SpilledDemand_Serverless_IsDemandBeyondItsPlacedReplicas(int placed, int spilled)
    {
        var spec = Serverless with { TokensPerSecondPerReplica = 1_000m };

        Assert.Equal(spilled, spec.SpilledDemand(1_500m, placed));
        Assert.Equal(0m, Dedicated.SpilledDemand(1_500m, placed));
        Assert.Equal(0m, (Serverless with { Class = DeploymentClass.Batch }).SpilledDemand(1_500m, placed));
    }
}
