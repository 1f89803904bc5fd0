namespace ControlPlane.Domain.Deployments;

/// <summary>
/// An operator's change to a deployment's replica limits after its creation: any of <see cref="DeploymentSpec.MinReplicas"/>,
/// <see cref="DeploymentSpec.MaxReplicas"/> and (dedicated only) <see cref="DeploymentSpec.ReservedReplicas"/>; a field
/// left null keeps its value. Hardware, model and size change by a migration instead, which replaces every replica.
/// </summary>
[GenerateSerializer, Alias("deployment-limits")]
public sealed record DeploymentLimits(
    [property: Id(0)] int? MinReplicas,
    [property: Id(1)] int? MaxReplicas,
    [property: Id(2)] int? ReservedReplicas)
{
    /// <summary>Whether the change names no field at all.</summary>
    public bool IsEmpty => MinReplicas is null && MaxReplicas is null && ReservedReplicas is null;

    /// <summary><paramref name="current"/> with these limits; the fields left out keep their value.</summary>
    public DeploymentSpec ApplyTo(DeploymentSpec current) => current with
    {
        MinReplicas = MinReplicas ?? current.MinReplicas,
        MaxReplicas = MaxReplicas ?? current.MaxReplicas,
        ReservedReplicas = ReservedReplicas ?? current.ReservedReplicas,
    };

    /// <summary>
    /// Whether <paramref name="after"/> must pass admission control in place of <paramref name="before"/>: unless it differs
    /// only in its limits and reserves no more replicas (a lower reservation is never refused, even while the fleet could
    /// not hold the old one).
    /// </summary>
    public static bool NeedsAdmission(DeploymentSpec before, DeploymentSpec after) =>
        after.ReservedReplicas > before.ReservedReplicas
        || !after.Equals(before with { MinReplicas = after.MinReplicas, MaxReplicas = after.MaxReplicas, ReservedReplicas = after.ReservedReplicas });

    /// <summary>
    /// The spec these limits make of <paramref name="current"/>, or the field errors (keyed like the request's fields) when
    /// they name nothing or the result breaks the rules a new deployment is held to (<see cref="DeploymentSpec.Validate"/>).
    /// </summary>
    public (DeploymentSpec? Spec, IReadOnlyDictionary<string, string[]> Errors) Check(DeploymentSpec current)
    {
        if (IsEmpty)
        {
            return (null, new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                ["body"] = ["Give at least one of minReplicas, maxReplicas, reservedReplicas."],
            });
        }

        var spec = ApplyTo(current);
        var errors = spec.Validate();
        return errors.Count == 0 ? (spec, errors) : (null, errors);
    }
}
