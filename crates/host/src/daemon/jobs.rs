//! Jobs: the steps of a scheduled or triggered run, guarded so that a panic fails the job
//! and frees what it held.

#[allow(unused_imports)]
use super::*;

impl Daemon {
    /// Run the steps of a job; returns how it ended.
    pub(super) async fn run_steps(
        self: &Arc<Self>,
        job: &str,
        steps: &[JobStep],
        connection: Option<&str>,
    ) -> JobOutcome {
        let id = format!("job-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let span = tracing::info_span!("job", id = %id, job = %job, connection = %connection.unwrap_or("all"));
        async {
            tracing::info!(steps = ?steps, "job started");
            let mut outcome = JobOutcome::Ok;
            let mut sync_failed = false;
            for step in steps {
                if self.stopping() {
                    outcome = JobOutcome::Stopped;
                    break;
                }
                // After a failed sync the data may be old or partial: nothing is filed or
                // published from it unless `[reports] when_stale = "file"` (then the reports
                // say so at the top).
                if sync_failed
                    && matches!(step, JobStep::Publish | JobStep::Report)
                    && self.session.config.reports.when_stale == WhenStale::Skip
                {
                    tracing::warn!(step = ?step, "step left out: the sync failed, so the data may be old or partial ([reports] when_stale = \"skip\")");
                    continue;
                }
                // Check and report read the whole store: they take their turn with the
                // pages built from it (`server::building`), so that a job and a dashboard
                // never hold two portfolios at once.
                let result = match step {
                    JobStep::Sync => self.sync_step(connection).await,
                    JobStep::Check | JobStep::Report => {
                        let Ok(_turn) = self.builds.clone().acquire_owned().await else {
                            outcome = JobOutcome::Stopped;
                            break;
                        };
                        if *step == JobStep::Check {
                            self.check_step()
                        } else {
                            self.report_step()
                        }
                    }
                    JobStep::Publish => self.publish_step(connection).await,
                };
                // What the step freed goes back before the next step builds: the sync's
                // plugin instances and pages, left in the heap, were under the check's
                // portfolio (at 10,000 epics a job's check peaked at 100 MiB of heap
                // where the first job's, after a quieter sync, took 76).
                crate::memory::give_back_freed();
                match result {
                    Ok(StepEnd::Done) => {}
                    Ok(StepEnd::Stopped) => {
                        outcome = JobOutcome::Stopped;
                        break;
                    }
                    Err(e) => {
                        tracing::error!(step = ?step, error = %e, "job step failed");
                        outcome = JobOutcome::Failed;
                        sync_failed |= *step == JobStep::Sync;
                    }
                }
            }
            self.emit(JobEvent::Finished { job, outcome });
            // The portfolio and the findings the steps held are freed: hand their pages back
            // rather than keep them resident until the next job.
            crate::memory::give_back_freed();
            outcome
        }
        .instrument(span)
        .await
    }

    pub(super) async fn sync_step(self: &Arc<Self>, only: Option<&str>) -> anyhow::Result<StepEnd> {
        let options = crate::sync::SyncOptions {
            stop: Some(self.stop.clone()),
            ..crate::sync::SyncOptions::from_config(&self.session.config.sync)
        };
        // The connections are claimed (and freed however the sync ends, a panic included)
        // in the daemon's set; the events count into its metrics.
        let results = crate::sync::sync_connections(
            &self.session,
            only,
            &options,
            self.as_ref(),
            self.as_ref(),
        )
        .await
        .map_err(|e| e.error)?;
        let mut failures = Vec::new();
        let mut held = Vec::new();
        for (name, result) in results {
            match result {
                crate::sync::ConnectionSync::Synced(_) => {}
                crate::sync::ConnectionSync::Skipped => held.push(name),
                crate::sync::ConnectionSync::Failed(crate::sync::SyncError::Stopped { .. }) => {
                    return Ok(StepEnd::Stopped);
                }
                crate::sync::ConnectionSync::Failed(e) => failures.push(e.to_string()),
            }
        }
        // A connection another job was syncing: wait for that sync to end and take its
        // outcome, so the later steps never run on half the data.
        for name in held {
            match self.await_other_sync(&name).await? {
                None => return Ok(StepEnd::Stopped),
                Some(Ok(())) => {}
                Some(Err(e)) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            Err(anyhow::anyhow!(failures.join("; ")))
        } else {
            Ok(StepEnd::Done)
        }
    }

    /// Wait until no job syncs `connection`; then how its latest run ended (`None`: the
    /// daemon is stopping).
    async fn await_other_sync(
        &self,
        connection: &str,
    ) -> anyhow::Result<Option<Result<(), String>>> {
        tracing::info!(
            connection,
            "waiting for another job's sync of this connection to end"
        );
        let store = self.session.store().map_err(|f| f.error)?;
        let key = sync_key(connection);
        let mut polls = 0u64;
        loop {
            if self.stopping() {
                return Ok(None);
            }
            // Here, or (asked of the store once a second) on another instance.
            let here = self.syncing.lock().unwrap().contains(connection);
            let elsewhere = !here
                && polls.is_multiple_of(10)
                && store.claims()?.iter().any(|c| {
                    c.key == key && c.instance != self.instance && live(c, &tollgate_store::now())
                });
            if !here && !elsewhere {
                break;
            }
            polls += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // The newest run that ended (the other job may have started its next one since).
        let latest = store
            .runs(Some(connection), 5)?
            .into_iter()
            .find(|r| r.status != tollgate_store::RunStatus::Running);
        Ok(Some(match latest {
            Some(r) if r.status == tollgate_store::RunStatus::Ok => Ok(()),
            Some(r) => Err(format!(
                "connection `{connection}`: the sync another job ran ended {}: {}",
                match r.status {
                    tollgate_store::RunStatus::Interrupted => "interrupted",
                    _ => "failed",
                },
                r.error.unwrap_or_default()
            )),
            None => Err(format!(
                "connection `{connection}`: another job held it, and no run of it is on record"
            )),
        }))
    }

    pub(super) fn check_step(&self) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let today = crate::clock::today();
        let (_, changes) =
            crate::check::record_checks(&self.session.config, store.as_mut(), &today)
                .map_err(|f| f.error)?;
        // Counted one at a time, not read back whole.
        let mut open = 0usize;
        store.each_open_finding(&mut |_| open += 1)?;
        tracing::info!(
            open,
            new = changes.new,
            resolved = changes.resolved,
            "checks done"
        );
        Ok(StepEnd::Done)
    }

    pub(super) async fn publish_step(&self, only: Option<&str>) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let step = crate::publish::publish_step(
            &self.session,
            store.as_mut(),
            only,
            false,
            &crate::clock::today(),
        )
        .await
        .map_err(|f| f.error)?;
        tracing::info!(summary = %crate::publish::summary(&step.outcomes), "published");
        if !step.files.is_empty() {
            tracing::info!(files = step.files.len(), "reports written");
        }
        if let Some(failure) = step.failure() {
            anyhow::bail!(failure);
        }
        Ok(StepEnd::Done)
    }

    pub(super) fn report_step(&self) -> anyhow::Result<StepEnd> {
        let mut store = self.session.store().map_err(|f| f.error)?;
        let written = crate::report::publish_files(
            store.as_mut(),
            &self.session.config,
            &crate::clock::today(),
        )
        .map_err(|f| f.error)?;
        tracing::info!(files = written.len(), "reports written");
        Ok(StepEnd::Done)
    }

    /// Run the steps of a job in a task of its own, so that a panic in them fails the job
    /// (logged and counted) instead of taking the scheduler's bookkeeping with it.
    pub(super) async fn run_guarded(
        self: &Arc<Self>,
        job: String,
        steps: Vec<JobStep>,
        connection: Option<String>,
    ) -> JobOutcome {
        let me = self.clone();
        let name = job.clone();
        let task =
            tokio::spawn(async move { me.run_steps(&job, &steps, connection.as_deref()).await });
        match task.await {
            Ok(outcome) => outcome,
            Err(e) => {
                let what = if e.is_panic() {
                    let payload = e.into_panic();
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_string())
                } else {
                    "cancelled".to_string()
                };
                self.emit(JobEvent::Panicked {
                    job: &name,
                    message: &what,
                });
                JobOutcome::Failed
            }
        }
    }

    /// Run a scheduled job unless it is still running here, or another instance on the same
    /// store has claimed (or done) this run of it; record when it was due.
    pub(super) async fn fire(
        self: Arc<Self>,
        index: usize,
        due: DateTime<Utc>,
        trigger: &'static str,
    ) {
        let job = &self.jobs[index];
        if job.running.swap(true, Ordering::SeqCst) {
            self.emit(JobEvent::Overlapped {
                job: &job.name,
                due: &due.to_rfc3339(),
            });
            return;
        }
        let lease = match Lease::take(&self.session, &self.instance, &job_key(&job.name, &due)) {
            Ok(Taken::Mine(lease)) => Some(lease),
            Ok(Taken::Held(claim) | Taken::Done(claim)) => {
                self.emit(JobEvent::ClaimedElsewhere {
                    job: &job.name,
                    due: &due.to_rfc3339(),
                    instance: &claim.instance,
                });
                job.running.store(false, Ordering::SeqCst);
                return;
            }
            // The store is failing: the job's steps will fail on it too, and say so.
            Err(e) => {
                tracing::error!(job = %job.name, error = %e, "cannot claim the job's run in the store; running it unclaimed");
                None
            }
        };
        let me = self.clone();
        tokio::spawn(async move {
            let job = &me.jobs[index];
            tracing::info!(job = %job.name, trigger, due = %due.to_rfc3339(), instance = %me.instance, "job due");
            let outcome = me
                .run_guarded(
                    job.name.clone(),
                    job.config.steps.clone(),
                    job.config.connection.clone(),
                )
                .await;
            let store = me.session.store();
            if let Ok(mut store) = store {
                let _ = store.record_job(&job.name, &due.to_rfc3339(), outcome.as_str());
            }
            match (lease, outcome) {
                // Stopped: left for another instance to finish (resuming the sync).
                (Some(lease), JobOutcome::Stopped) => lease.abandon(),
                (Some(lease), _) => lease.release(true),
                (None, _) => {}
            }
            job.running.store(false, Ordering::SeqCst);
        });
    }

    /// Take over the runs of jobs whose holder died: claims not done whose lease ran out.
    pub(super) async fn take_over(self: &Arc<Self>) {
        let claims = match self.session.store().and_then(|s| Ok(s.claims()?)) {
            Ok(claims) => claims,
            Err(e) => {
                tracing::warn!(error = %e.error, "cannot read the claims to take over work left unfinished");
                return;
            }
        };
        let now = tollgate_store::now();
        for claim in claims {
            if claim.done || live(&claim, &now) {
                continue;
            }
            let Some((name, due)) = parse_job_key(&claim.key) else {
                continue;
            };
            let Some(index) = self.jobs.iter().position(|j| j.name == name) else {
                continue;
            };
            tracing::warn!(job = name, due = %due.to_rfc3339(), instance = %claim.instance, "taking over a job run whose instance stopped renewing its lease");
            self.clone().fire(index, due, "takeover").await;
        }
    }
}
