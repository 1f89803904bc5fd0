using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using ControlPlane.Domain.Tests.Placement;
using CsCheck;

namespace ControlPlane.Domain.Tests.Deployments;

/// <summary>
/// The scheduler's claim protocol (<see cref="ClaimProtocol"/>: the model, <see cref="ClaimsInFlight{TReport}"/> and the
/// node grains' rules) against nodes that misbehave: calls lost before or after the node handled them, calls that land
/// late (after a read of the node), reports delivered out of order and twice, GPUs taken behind the scheduler's back,
/// nodes cordoned and reads that fail. After every message: no GPU has two holders and no replica holds GPUs on two
/// nodes, in the model or on the nodes; the model agrees with every node it has no reason to doubt; a refused claim is
/// not retried on GPUs the refusal showed taken. After every pass nothing is left in flight, and once the nodes behave
/// the model and the nodes agree and every deployment has its desired replicas.
/// </summary>
public sealed class ClaimsInFlightPropertyTests
{
    private static readonly Gen<DeploymentSpec[]> Specs =
        Gen.Select(Gen.OneOf(1, 2), Gen.OneOf(1, 2), Gen.OneOf(1, 2), Gen.Int[0, 2])
            .Select((a, b, c, reserved) => new[]
            {
                TestFleet.Spec("ded", gpus: a, reserved: reserved, max: 3),
                TestFleet.Spec("srv", gpus: b, cls: DeploymentClass.Serverless, max: 3),
                TestFleet.Spec("bat", gpus: c, cls: DeploymentClass.Batch, max: 3),
            });

    [Fact]
    public void AnyMisbehaviour_KeepsTheInvariantsAndConvergesOnceNodesBehave()
    {
        Gen.Select(Gen.Int, Specs, Gen.Int[1, 60]).Sample((seed, specs, steps) =>
        {
            var random = new Random(seed);
            var protocol = new ClaimProtocol(Enumerable.Range(0, 4).Select(i => TestFleet.Node($"n{i}", 8)), seed);
            foreach (var spec in specs)
            {
                protocol.Model.SetDeployment(new ScheduledDeployment(spec, random.Next(0, 4), 1));
            }

            var nodes = protocol.Nodes.Values.ToArray();
            var intruders = 0;
            protocol.Deliver = (_, _) => random.Next(20) switch
            {
                < 12 => Delivery.Answered,
                < 15 => Delivery.LostBefore,
                < 18 => Delivery.LostAnswer,
                _ => Delivery.Late,
            };
            protocol.ReadFails = _ => random.Next(4) == 0;
            protocol.AfterEachMessage = () => CheckSafety(protocol);

            for (var step = 0; step < steps; step++)
            {
                var sent = protocol.Claims.Count;
                protocol.BeginPass();
                while (protocol.Busy)
                {
                    // Whatever else happens between the scheduler's calls: reports arrive in any order (some twice), late
                    // calls land, agents turn replicas ready, GPUs are taken behind the scheduler's back, nodes cordon.
                    switch (random.Next(10))
                    {
                        case < 4:
                            protocol.Step();
                            break;
                        case < 6 when protocol.Network.Count > 0:
                            protocol.Receive(random.Next(protocol.Network.Count), keep: random.Next(4) == 0);
                            break;
                        case 6 when protocol.LateCalls.Count > 0:
                            protocol.DeliverLate(random.Next(protocol.LateCalls.Count));
                            break;
                        case 7:
                            var ready = nodes[random.Next(nodes.Length)];
                            if (ready.TurnReady(random))
                            {
                                protocol.Send(ready);
                            }

                            break;
                        case 8:
                            var intruded = nodes[random.Next(nodes.Length)];
                            if (intruded.Intrude($"intruder.{intruders++}", random.Next(2) == 0 ? ReplicaTier.Batch : ReplicaTier.Reserved, random.Next(8)))
                            {
                                protocol.Send(intruded);
                            }

                            break;
                        case 9:
                            var cordoned = nodes[random.Next(nodes.Length)];
                            cordoned.SetCordoned(random.Next(2) == 0);
                            protocol.Send(cordoned);
                            break;
                    }
                }

                // Every claim sent ended one way or another: nothing is left in flight between passes, and the node of a
                // claim that timed out is stale (it is read before the next decisions).
                Assert.Empty(protocol.Calls.InFlight);
                Assert.All(protocol.Claims.Skip(sent).Where(c => c.Outcome == ClaimOutcomeSeen.TimedOut), c => Assert.True(protocol.Calls.IsStale(c.Claim.Claim.NodeId)));
                if (random.Next(4) == 0)
                {
                    var spec = specs[random.Next(specs.Length)];
                    protocol.Model.SetDeployment(new ScheduledDeployment(spec, random.Next(0, 4), 1));
                }
            }

            Assert.True(protocol.Settle(), "The nodes behave, yet the scheduler did not settle.");
            CheckConverged(protocol);
        }, iter: 300);
    }

    /// <summary>What must hold after every message, whatever the nodes do.</summary>
    internal static void CheckSafety(ClaimProtocol protocol)
    {
        // On the nodes: the slot map is the lock, and a replica holds GPUs on one node only.
        var holders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in protocol.Nodes.Values)
        {
            foreach (var holder in node.Node.Slots.Replicas())
            {
                Assert.True(holders.TryAdd(holder.ReplicaId, node.NodeId), $"{holder.ReplicaId} holds GPUs on {holders.GetValueOrDefault(holder.ReplicaId)} and {node.NodeId}");
            }

            Assert.Equal(
                node.Replicas.Select(r => (r.ReplicaId, string.Join(',', r.GpuIndices))).Order(),
                node.Node.Slots.Replicas().Select(h => (h.ReplicaId, string.Join(',', node.Node.Slots.GpusOf(h.ReplicaId)))).Order());
        }

        // In the model: each replica on one node, holding exactly the GPUs the model's slot map gives it, and a replica
        // whose claim is in flight is counted once, on the node it was sent to.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in protocol.Model.Snapshot.Nodes)
        {
            foreach (var holder in node.Slots.Replicas())
            {
                Assert.True(seen.Add(holder.ReplicaId), $"The model has {holder.ReplicaId} on two nodes");
            }
        }

        foreach (var replica in protocol.Model.Replicas())
        {
            Assert.Equal(replica.Replica.GpuIndices, protocol.Model.Snapshot.Find(replica.NodeId)!.Slots.GpusOf(replica.Replica.ReplicaId));
        }

        Assert.Equal(seen.Count, protocol.Model.ReplicaCount);

        // While a node's calls are in flight the model keeps the pass's decisions about it (each claim counted once, as
        // placed): no report that arrives meanwhile undoes one before the node answered.
        foreach (var (nodeId, decided) in protocol.Decided)
        {
            Assert.Equal(decided, protocol.Model.Snapshot.Find(nodeId)!.Slots);
        }

        // A node with nothing in flight, not stale, whose latest version the scheduler received, is in the model as it is:
        // a refused claim is not counted as placed, a release the node did is not counted as held, and no report held back
        // while its calls were in flight is lost.
        foreach (var node in protocol.Nodes.Values)
        {
            if (protocol.Calls.IsInFlight(node.NodeId) || protocol.Calls.IsStale(node.NodeId) || node.Told != node.Version)
            {
                continue;
            }

            Assert.Equal(node.Node.Slots, protocol.Model.Snapshot.Find(node.NodeId)!.Slots);
            Assert.Equal(node.Replicas.OrderBy(r => r.ReplicaId, StringComparer.Ordinal), protocol.Model.ReplicasOn(node.NodeId).OrderBy(r => r.ReplicaId, StringComparer.Ordinal));
        }
    }

    /// <summary>Once the nodes behave and the scheduler settled: the model is the nodes, and every deployment has what it wants.</summary>
    internal static void CheckConverged(ClaimProtocol protocol)
    {
        Assert.Empty(protocol.Calls.InFlight);
        Assert.Empty(protocol.Calls.Stale);
        foreach (var node in protocol.Nodes.Values)
        {
            Assert.Equal(node.Node.Slots, protocol.Model.Snapshot.Find(node.NodeId)!.Slots);
            Assert.Equal(node.Replicas.OrderBy(r => r.ReplicaId, StringComparer.Ordinal), protocol.Model.ReplicasOn(node.NodeId).OrderBy(r => r.ReplicaId, StringComparer.Ordinal));
            Assert.DoesNotContain(node.Replicas, r => r.DeploymentId == "intruder");
        }

        foreach (var deployment in protocol.Model.Deployments.Values)
        {
            var ordinals = protocol.Nodes.Values
                .SelectMany(n => n.Replicas)
                .Where(r => r.DeploymentId == deployment.Spec.DeploymentId)
                .Select(r => r.Ordinal)
                .Order()
                .ToArray();
            Assert.Equal(Enumerable.Range(0, deployment.Desired), ordinals);
        }
    }
}
