using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Placement;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Deployments;

public sealed partial class SchedulerGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduler active: {Nodes} nodes, {Deployments} deployments, {Replicas} replicas")]
    private partial void LogActivated(int nodes, int deployments, int replicas);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} refused: {Reserved} reserved replicas of {Gpus} GPUs do not fit beside the other reservations")]
    private partial void LogRefused(string deploymentId, int reserved, int gpus);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released replica {ReplicaId} on node {NodeId} ({Reason})")]
    private partial void LogReleased(string replicaId, string nodeId, ReleaseReason reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} refused replica {ReplicaId}: {Status}; planning again from its state")]
    private partial void LogClaimRefused(string replicaId, string nodeId, ClaimStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} did not take the scheduler's call ({Reason}); reading its state again before the next decision")]
    private partial void LogNodeUnreachable(string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduler could not read the fleet directory ({Reason}); trying again on the next reconcile")]
    private partial void LogRebuildFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} is to prefetch the weights of {Models}")]
    private partial void LogPrefetch(string nodeId, string models);

    [LoggerMessage(Level = LogLevel.Error, Message = "The scheduler's {Loop} loop failed; it runs again on the next change or reconcile tick")]
    private partial void LogLoopFailed(string loop, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {DeploymentId} did not take the scheduler's message ({Reason}); telling it again on the next change")]
    private partial void LogDeploymentUnreachable(string deploymentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduler could not hand its record of nodes heard over to its next activation ({Reason}); that one starts without it")]
    private partial void LogHeardNotHandedOver(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLO verdicts of deployment {DeploymentId} ({Count} minutes) were not stored; they are sent again with the next")]
    private partial void LogSloNotStored(string deploymentId, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {DeploymentId} could not be asked for its demand again; its SLO minutes are unmeasured until its next signal")]
    private partial void LogDemandNotTold(string deploymentId, Exception exception);
}
