using ControlPlane.Domain.Fleet;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Fleet;

public sealed partial class NodeGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} enrolled in region {Region}")]
    private partial void LogEnrolled(string nodeId, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} has a new token; the one before is refused")]
    private partial void LogTokenRotated(string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}'s token was revoked: its agent is refused until it gets a new one")]
    private partial void LogTokenRevoked(string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} is now {Health}")]
    private partial void LogHealthChanged(string nodeId, NodeHealth health);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} scheduling set to {Scheduling}")]
    private partial void LogSchedulingChanged(string nodeId, NodeScheduling scheduling);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent of node {NodeId} restarted (sequence {Sequence})")]
    private partial void LogAgentRestarted(string nodeId, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool of node {NodeId} did not take its capacity update ({Reason}); telling it again on the next check")]
    private partial void LogPoolUnreachable(string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduler did not take the placement report of node {NodeId} ({Reason}); telling it again on the next check")]
    private partial void LogSchedulerUnreachable(string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: replica {ReplicaId} placed on GPUs {Gpus} ({Tier}), preempting {Preempted} replica(s)")]
    private partial void LogClaimed(string nodeId, string replicaId, string gpus, Domain.Deployments.ReplicaTier tier, int preempted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} lost its {Count} replica(s): it is {Health}")]
    private partial void LogReplicasLost(string nodeId, int count, NodeHealth health);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} holds the weights of {Models} warm")]
    private partial void LogModelsWarm(string nodeId, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: prefetch list set to {Count} model(s): {Models}")]
    private partial void LogPrefetchSet(string nodeId, int count, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: {Count} engine(s) asleep ({Fallen} fell asleep, {Woken} left the list: woken or stopped)")]
    private partial void LogSleepingChanged(string nodeId, int count, int fallen, int woken);
}
