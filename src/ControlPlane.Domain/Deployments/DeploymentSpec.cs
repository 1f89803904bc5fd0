namespace ControlPlane.Domain.Deployments;

/// <summary>What a deployment is sold as, which decides the tier of its replicas.</summary>
[GenerateSerializer, Alias("deployment-class")]
public enum DeploymentClass
{
    /// <summary>A customer's dedicated endpoint: reserved replicas are guaranteed, more are burst.</summary>
    Dedicated = 0,
    /// <summary>Shared serverless capacity.</summary>
    Serverless = 1,
    /// <summary>Shared batch work: a backlog that takes what is left and goes first when GPUs are needed.</summary>
    Batch = 2,
}

/// <summary>
/// What a deployment needs, stated as capacity rather than hardware: GPUs per replica and memory per GPU,
/// optionally narrowed to SKUs and regions, and how many replicas it may run.
/// </summary>
/// <param name="DeploymentId">Letters, digits, '-', '_' or '.'; it appears in replica ids and URLs.</param>
/// <param name="Model">The model the replicas serve.</param>
/// <param name="Class">Dedicated, serverless or batch.</param>
/// <param name="CustomerId">The customer a dedicated deployment belongs to; null for shared classes.</param>
/// <param name="GpusPerReplica">GPUs one replica needs, all on one node.</param>
/// <param name="MinGpuMemoryGiB">Memory each of those GPUs must have (see <see cref="Placement.PlacementNode.GpuMemoryGiB"/>).</param>
/// <param name="Skus">SKU ids the replicas may run on; null for any.</param>
/// <param name="Regions">Regions the replicas may run in; null for any.</param>
/// <param name="MinReplicas">Replicas kept placed and warm whatever the demand.</param>
/// <param name="ReservedReplicas">
/// Dedicated only: replicas admission control guarantees. Replica ordinals below it are
/// <see cref="ReplicaTier.Reserved"/>, the rest <see cref="ReplicaTier.Burst"/>.
/// </param>
/// <param name="MaxReplicas">The ceiling demand can scale to.</param>
/// <param name="TokensPerSecondPerReplica">Throughput one replica serves; demand divided by it gives replicas.</param>
/// <param name="Image">
/// The inference engine's container image (e.g. <c>vllm/vllm-openai:v0.11.0</c>) that node agents running replicas as
/// Kubernetes pods start; null: the agent's own default. Agents that run a command ignore it.
/// </param>
[GenerateSerializer, Alias("deployment-spec")]
public sealed record DeploymentSpec(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string Model,
    [property: Id(2)] DeploymentClass Class,
    [property: Id(3)] string? CustomerId,
    [property: Id(4)] int GpusPerReplica,
    [property: Id(5)] int MinGpuMemoryGiB,
    [property: Id(6)] string[]? Skus,
    [property: Id(7)] string[]? Regions,
    [property: Id(8)] int MinReplicas,
    [property: Id(9)] int ReservedReplicas,
    [property: Id(10)] int MaxReplicas,
    [property: Id(11)] decimal TokensPerSecondPerReplica,
    [property: Id(12)] int? HeadroomPercent = null,
    [property: Id(13)] string? Image = null)
{
    /// <summary>The most headroom a deployment may ask for, in percent of its demand.</summary>
    public const int MaxHeadroomPercent = 1_000;

    public const int MaxIdLength = Ids.MaxLength;
    public const int MaxModelLength = 200;
    public const int MaxImageLength = 512;
    public const int MaxGpusPerReplica = 64;
    public const int MaxGpuMemoryGiB = 4096;
    public const int MaxReplicasLimit = 10_000;
    public const int MaxAllowListLength = 64;
    public const decimal MaxTokensPerSecondPerReplica = 10_000_000m;

    /// <summary>Decimals <see cref="TokensPerSecondPerReplica"/> may have.</summary>
    public const int MaxTokensDecimals = 3;

    /// <summary>The tier of the replica with ordinal <paramref name="ordinal"/> (0-based).</summary>
    public ReplicaTier TierOf(int ordinal) => Class switch
    {
        DeploymentClass.Batch => ReplicaTier.Batch,
        DeploymentClass.Serverless => ReplicaTier.Serverless,
        _ => ordinal < ReservedReplicas ? ReplicaTier.Reserved : ReplicaTier.Burst,
    };

    /// <summary>
    /// Serverless demand beyond what <paramref name="placedReplicas"/> serve: spilled to distribution partners.
    /// Other classes spill nothing (batch is a backlog that waits; dedicated demand is the customer's own).
    /// </summary>
    public decimal SpilledDemand(decimal tokensPerSecond, int placedReplicas) =>
        Class == DeploymentClass.Serverless ? Math.Max(0m, tokensPerSecond - (placedReplicas * TokensPerSecondPerReplica)) : 0m;

    /// <summary>Field errors (empty when valid), keyed by the request's field names, for a 400 <c>ValidationProblem</c>.</summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Ids.IsValid(DeploymentId))
        {
            errors["deploymentId"] = [$"is required: {Ids.Rule}"];
        }

        if (!IsValidModel(Model))
        {
            errors["model"] = [$"is required: 1 to {MaxModelLength} characters, {FreeText.Rule}"];
        }

        if (Image is not null && !IsValidImage(Image))
        {
            errors["image"] = [$"must be a container image reference when given: 1 to {MaxImageLength} characters of letters, digits and . _ - / : @, starting with a letter or digit"];
        }

        // customerId and reservedReplicas are judged only once the class is known.
        var dedicated = Class == DeploymentClass.Dedicated;
        var shared = Class is DeploymentClass.Serverless or DeploymentClass.Batch;
        if (!dedicated && !shared)
        {
            errors["class"] = ["must be 'dedicated', 'serverless' or 'batch'"];
        }

        if (dedicated && !Ids.IsValid(CustomerId))
        {
            errors["customerId"] = [$"is required for a dedicated deployment: {Ids.Rule}"];
        }
        else if (shared && CustomerId is not null)
        {
            errors["customerId"] = ["is only for dedicated deployments"];
        }

        if (GpusPerReplica is < 1 or > MaxGpusPerReplica)
        {
            errors["gpusPerReplica"] = [$"must be between 1 and {MaxGpusPerReplica}"];
        }

        if (MinGpuMemoryGiB is < 0 or > MaxGpuMemoryGiB)
        {
            errors["minGpuMemoryGiB"] = [$"must be between 0 and {MaxGpuMemoryGiB}"];
        }

        CheckAllowList("skus", Skus);
        CheckAllowList("regions", Regions);

        if (MaxReplicas is < 1 or > MaxReplicasLimit)
        {
            errors["maxReplicas"] = [$"must be between 1 and {MaxReplicasLimit}"];
        }

        if (MinReplicas < 0 || MinReplicas > Math.Max(MaxReplicas, 0))
        {
            errors["minReplicas"] = ["must be between 0 and maxReplicas"];
        }

        if (dedicated && (ReservedReplicas < 0 || ReservedReplicas > Math.Max(MaxReplicas, 0)))
        {
            errors["reservedReplicas"] = ["must be between 0 and maxReplicas"];
        }
        else if (shared && ReservedReplicas != 0)
        {
            errors["reservedReplicas"] = ["is only for dedicated deployments"];
        }

        if (TokensPerSecondPerReplica <= 0 || TokensPerSecondPerReplica > MaxTokensPerSecondPerReplica)
        {
            errors["tokensPerSecondPerReplica"] = [$"must be more than 0 and at most {MaxTokensPerSecondPerReplica}"];
        }
        else if (decimal.Round(TokensPerSecondPerReplica, MaxTokensDecimals) != TokensPerSecondPerReplica)
        {
            errors["tokensPerSecondPerReplica"] = [$"must have at most {MaxTokensDecimals} decimals"];
        }

        if (HeadroomPercent is < 0 or > MaxHeadroomPercent)
        {
            errors["headroomPercent"] = [$"must be between 0 and {MaxHeadroomPercent} when given (leave it out to learn it from the deployment's traffic)"];
        }
        else if (HeadroomPercent is not null && Class == DeploymentClass.Batch)
        {
            errors["headroomPercent"] = ["is not for batch deployments (a backlog runs on every replica it can have)"];
        }

        return errors;

        void CheckAllowList(string field, string[]? values)
        {
            if (values is null)
            {
                return;
            }

            if (values.Length is 0 or > MaxAllowListLength)
            {
                errors[field] = [$"must list 1 to {MaxAllowListLength} ids when given (leave it out to allow any)"];
            }
            else if (!values.All(Ids.IsValid))
            {
                errors[field] = [$"must list ids of {Ids.Rule}"];
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="model"/> can name a model: 1 to <see cref="MaxModelLength"/> characters, not blank,
    /// clean (<see cref="FreeText"/>).
    /// </summary>
    public static bool IsValidModel(string? model) => FreeText.IsClean(model, MaxModelLength);

    /// <summary>
    /// Whether <paramref name="image"/> can name a container image: the characters of an OCI reference (registry host and
    /// port, path, tag, digest) and nothing else, since it reaches a pod spec on every node.
    /// </summary>
    public static bool IsValidImage(string? image) =>
        image is { Length: > 0 and <= MaxImageLength }
        && char.IsAsciiLetterOrDigit(image[0])
        && image.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or '@');

    /// <summary>Value equality, allow-lists compared element by element (a retried create is the same spec).</summary>
    public bool Equals(DeploymentSpec? other) =>
        other is not null
        && DeploymentId == other.DeploymentId
        && Model == other.Model
        && Class == other.Class
        && CustomerId == other.CustomerId
        && GpusPerReplica == other.GpusPerReplica
        && MinGpuMemoryGiB == other.MinGpuMemoryGiB
        && ValueArrays.Equal(Skus, other.Skus)
        && ValueArrays.Equal(Regions, other.Regions)
        && MinReplicas == other.MinReplicas
        && ReservedReplicas == other.ReservedReplicas
        && MaxReplicas == other.MaxReplicas
        && TokensPerSecondPerReplica == other.TokensPerSecondPerReplica
        && HeadroomPercent == other.HeadroomPercent
        && Image == other.Image;

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(DeploymentId);
        hash.Add(Model);
        hash.Add(Class);
        hash.Add(CustomerId);
        hash.Add(GpusPerReplica);
        hash.Add(MinGpuMemoryGiB);
        ValueArrays.Add(ref hash, Skus);
        ValueArrays.Add(ref hash, Regions);
        hash.Add(MinReplicas);
        hash.Add(ReservedReplicas);
        hash.Add(MaxReplicas);
        hash.Add(TokensPerSecondPerReplica);
        hash.Add(HeadroomPercent);
        hash.Add(Image);
        return hash.ToHashCode();
    }
}
