namespace ControlPlane.Simulator.Simulation;

/// <summary>A node down from <paramref name="DownAt"/> until <paramref name="UpAt"/> (simulated seconds).</summary>
internal sealed record NodeOutage(string NodeId, double DownAt, double UpAt);

/// <summary>
/// When nodes fail and come back, drawn once per run from the seed so that every policy faces the same failures.
/// Each node's times between failures are exponential with mean 1 / <see cref="FailureModel.PerNodeDay"/> days
/// (counted from when it is back); a repair takes <see cref="FailureModel.RepairTime"/>.
/// </summary>
internal static class FailureSchedule
{
    public static IReadOnlyList<NodeOutage> Draw(IEnumerable<string> nodeIds, FailureModel failures, double horizonSeconds, Random random)
    {
        var outages = new List<NodeOutage>();
        if (failures.PerNodeDay <= 0)
        {
            return outages;
        }

        var meanSeconds = 86_400 / failures.PerNodeDay;
        var repair = failures.RepairTime.TotalSeconds;
        foreach (var nodeId in nodeIds.Order(StringComparer.Ordinal))
        {
            var at = 0.0;
            while (true)
            {
                // 1 - NextDouble() is in (0, 1], so the logarithm is finite.
                at += -Math.Log(1 - random.NextDouble()) * meanSeconds;
                if (at >= horizonSeconds)
                {
                    break;
                }

                outages.Add(new NodeOutage(nodeId, at, at + repair));
                at += repair;
            }
        }

        return outages.OrderBy(o => o.DownAt).ThenBy(o => o.NodeId, StringComparer.Ordinal).ToArray();
    }
}
