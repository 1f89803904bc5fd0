namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// When a dedicated or serverless replica's engine sleeps instead of stopping (<c>--sleep-budget-gb</c>): a sleeping engine keeps its
/// weights in the node's host memory, so the engines asleep at once may hold at most <paramref name="BudgetBytes"/>.
/// </summary>
/// <param name="BudgetBytes">Host memory the weights of sleeping engines may take together; 0: never sleep.</param>
/// <param name="WeightBytes">
/// The size of a model's weights, or null when it is not known (then the replica is stopped: the budget cannot be
/// checked). The agent reads it from its model cache (<c>--model-cache</c>).
/// </param>
internal sealed record SleepPolicy(long BudgetBytes, Func<string, long?> WeightBytes)
{
    /// <summary>Most engines asleep at once: what the server takes from one node.</summary>
    public const int MaxSleeping = 64;
}
