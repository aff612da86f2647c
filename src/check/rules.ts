import type { CheckStatus } from '../results/checks.ts';
import type { Facts, Partition, Section, UserPackage } from './facts.ts';
import { releaseName, RELEASES_AS_OF, servicingOf } from './releases.ts';
import { countOf } from '../util/plural.ts';

/** When the facts were taken: on the running build VM just before sysprep, or after sysprep/capture. */
export type Phase = 'pre-sysprep' | 'post-capture';

export interface RuleContext {
  phase: Phase;
  /** The build was asked for Teams media optimizations. */
  teamsRequested: boolean;
  /** "Today", for the servicing dates. */
  now: Date;
}

export type Severity = 'error' | 'warning';

export interface Verdict {
  status: CheckStatus;
  detail: string;
}

export interface SysprepRule {
  id: string;
  /** Requirement number as defined in docs/requirements.md, e.g. R5. */
  requirement: string;
  /** `error`: a fail, or facts that cannot be verified, fail the check. `warning`: reported only. */
  severity: Severity;
  /** The Windows 365 errorCode the rule prevents, or the sysprep error for failures sysprep itself hits. */
  errorCode: string | null;
  title: string;
  fix: string;
  evaluate(facts: Facts, context: RuleContext): Verdict;
}

const RECOVERY_GPT_TYPE = 'de94bba4-06d1-4d40-a16a-bfd50179d6ac';
/** MBR partition type 0x27: Windows RE. */
const RECOVERY_MBR_TYPE = 0x27;
const MAX_START_APPS = 3000;
const PRE_SYSPREP_IMAGE_STATE = 'IMAGE_STATE_COMPLETE';
const GENERALIZED_IMAGE_STATE = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE';
const INTUNE_PROVIDER_ID = 'MS DM Server';

const pass = (detail: string): Verdict => ({ status: 'pass', detail });
const fail = (detail: string): Verdict => ({ status: 'fail', detail });
const unverified = (detail: string): Verdict => ({
  status: 'unverified',
  detail: `Cannot verify: ${detail}.`,
});

/** Runs `judge` on a readable section; an unreadable one is `unverified`. */
function withSection<T>(section: Section<T>, judge: (value: T) => Verdict): Verdict {
  return section.readable ? judge(section.value) : unverified(section.reason);
}

function list(items: readonly string[]): string {
  return items.join('; ');
}

const isYes = (value: string | null) => value?.trim().toUpperCase() === 'YES';
const isNo = (value: string | null) => value?.trim().toUpperCase() === 'NO';

export const SYSPREP_RULES: readonly SysprepRule[] = [
  {
    id: 'vm.edition',
    requirement: 'R1',
    severity: 'error',
    errorCode: 'osVersionNotSupported',
    title: 'Windows Enterprise (not N, not LTSC)',
    fix: 'Build from MicrosoftWindowsDesktop/windows-ent-cpc (win11-25h2-ent-cpc or its -m365 twin); N, LTSC, Pro and Education editions are rejected.',
    evaluate: (facts) =>
      withSection(facts.os, (os) => {
        const edition = os.editionId;
        if (edition === null) return unverified('EditionID is absent from the registry');
        if (edition === 'Enterprise') return pass('EditionID is Enterprise.');
        // Enterprise multi-session is an Enterprise edition; vm.single-session rejects it.
        if (edition === 'ServerRdsh')
          return pass('EditionID is ServerRdsh (Enterprise multi-session; see vm.single-session).');
        if (/^EnterpriseS/i.test(edition)) return fail(`EditionID is ${edition}: an LTSC edition.`);
        if (/^Enterprise(G)?N$/i.test(edition))
          return fail(`EditionID is ${edition}: an N edition (no media features).`);
        return fail(`EditionID is ${edition}, not Enterprise.`);
      }),
  },
  {
    id: 'vm.single-session',
    requirement: 'R4',
    severity: 'error',
    errorCode: 'osVersionNotSupported',
    title: 'Single session (not multi-session)',
    fix: 'Build from windows-ent-cpc, not a multi-session base (windows-11 *-avd, office-365 *-avd-m365).',
    evaluate: (facts) =>
      withSection(facts.os, (os) => {
        const problems: string[] = [];
        if (os.editionId === 'ServerRdsh')
          problems.push('EditionID is ServerRdsh (Enterprise multi-session)');
        if (os.productType !== null && os.productType !== 1)
          problems.push(`ProductType is ${os.productType}, not 1 (workstation)`);
        if (problems.length > 0) return fail(`${list(problems)}.`);
        if (os.editionId === null || os.productType === null)
          return unverified('EditionID or ProductType is absent');
        return pass(`EditionID ${os.editionId}, ProductType 1 (workstation).`);
      }),
  },
  {
    id: 'vm.servicing',
    requirement: 'R1',
    severity: 'error',
    errorCode: 'osVersionNotSupported',
    title: 'Windows release still serviced',
    fix: 'Build from a current base (image_sku win11-25h2-ent-cpc or newer, image_version latest).',
    evaluate: (facts, context) =>
      withSection(facts.os, (os) => {
        if (os.currentBuild === null) return unverified('CurrentBuild is absent from the registry');
        const build = os.ubr === null ? `${os.currentBuild}` : `${os.currentBuild}.${os.ubr}`;
        const servicing = servicingOf(os.currentBuild, context.now);
        switch (servicing.state) {
          case 'supported':
            return pass(
              `${releaseName(servicing.release)}, OS build ${build}: Enterprise servicing until ${servicing.release.enterpriseEndOfServicing} (${servicing.daysLeft} days).`,
            );
          case 'ending-soon':
            return {
              status: 'warn',
              detail: `${releaseName(servicing.release)}, OS build ${build}: Enterprise servicing ends ${servicing.release.enterpriseEndOfServicing}, in ${servicing.daysLeft} days.`,
            };
          case 'ended':
            return fail(
              `${releaseName(servicing.release)}, OS build ${build}: Enterprise servicing ended ${servicing.release.enterpriseEndOfServicing}.`,
            );
          case 'unknown':
            return servicing.newerThanTable
              ? {
                  status: 'warn',
                  detail: `OS build ${build} (${os.displayVersion ?? 'no DisplayVersion'}) is newer than every release in this tool's table (as of ${RELEASES_AS_OF}); check it is a released, not an Insider, build.`,
                }
              : fail(
                  `OS build ${build} (${os.displayVersion ?? 'no DisplayVersion'}) is not a serviced Windows 11/10 release.`,
                );
        }
      }),
  },
  {
    id: 'vm.not-joined',
    requirement: 'R5',
    severity: 'error',
    errorCode: 'vmAlreadyAzureAdJoined',
    title: 'Never joined to Active Directory or Microsoft Entra',
    fix: 'Do not join the build VM to a domain or to Entra ID (no join in extra_scripts or in the base); rebuild from a fresh base: unjoining does not help.',
    evaluate: (facts) => {
      const problems: string[] = [];
      const missing: string[] = [];
      if (facts.dsregcmd.readable) {
        const d = facts.dsregcmd.value;
        const fields = [
          ['AzureAdJoined', d.azureAdJoined],
          ['EnterpriseJoined', d.enterpriseJoined],
          ['DomainJoined', d.domainJoined],
        ] as const;
        for (const [name, value] of fields) {
          if (isYes(value)) problems.push(`dsregcmd /status: ${name} : ${value}`);
          else if (!isNo(value))
            missing.push(`dsregcmd ${name} is ${value === null ? 'absent' : `'${value}'`}`);
        }
      } else missing.push(`dsregcmd: ${facts.dsregcmd.reason}`);
      if (facts.wmiJoin.readable) {
        const w = facts.wmiJoin.value;
        if (w.partOfDomain === true)
          problems.push(`Win32_ComputerSystem.PartOfDomain is True (domain ${w.domain ?? '?'})`);
        else if (w.partOfDomain === null) missing.push('WMI PartOfDomain is absent');
      } else missing.push(`WMI: ${facts.wmiJoin.reason}`);
      if (problems.length > 0) return fail(`${list(problems)}.`);
      if (missing.length > 0) return unverified(list(missing));
      return pass(
        'dsregcmd: AzureAdJoined, EnterpriseJoined and DomainJoined are NO; PartOfDomain is False.',
      );
    },
  },
  {
    id: 'vm.no-mdm-enrollment',
    requirement: 'R5',
    severity: 'error',
    errorCode: 'vmAlreadyAzureAdJoined',
    title: 'Not enrolled in Intune or another MDM',
    fix: 'Do not enroll the build VM in Intune or any MDM; rebuild from a fresh base.',
    evaluate: (facts) =>
      withSection(facts.mdm, ({ enrollments }) => {
        if (enrollments === null) return unverified('the enrollment list is absent');
        if (enrollments.length === 0)
          return pass('No MDM enrollment under HKLM\\SOFTWARE\\Microsoft\\Enrollments.');
        return fail(
          `${countOf(enrollments.length, 'MDM enrollment')}: ${list(
            enrollments.map(
              (e) =>
                `${e.id} ProviderID '${e.providerId}'${e.providerId === INTUNE_PROVIDER_ID ? ' (Intune)' : ''}${e.upn ? ` UPN ${e.upn}` : ''}${e.enrollmentState === null ? '' : ` EnrollmentState ${e.enrollmentState}`}`,
            ),
          )}.`,
        );
      }),
  },
  {
    id: 'vm.no-configmgr',
    requirement: 'R5',
    severity: 'error',
    errorCode: 'vmAlreadyAzureAdJoined',
    title: 'No Configuration Manager client or co-management',
    fix: 'Do not install the Configuration Manager client (CcmExec) on the image; Windows 365 manages Cloud PCs through Intune.',
    evaluate: (facts) =>
      withSection(facts.configMgr, (c) => {
        const problems: string[] = [];
        if (c.ccmExecServicePresent === true)
          problems.push(`service CcmExec is present (${c.ccmExecServiceStatus ?? 'status unknown'})`);
        if (c.ccmRegistryKeyPresent === true) problems.push('HKLM\\SOFTWARE\\Microsoft\\CCM exists');
        if (problems.length > 0) return fail(`${list(problems)}.`);
        if (c.ccmExecServicePresent === null || c.ccmRegistryKeyPresent === null)
          return unverified('the CcmExec service or CCM key presence is absent');
        return pass('No CcmExec service and no HKLM\\SOFTWARE\\Microsoft\\CCM key.');
      }),
  },
  {
    id: 'vm.no-recovery-partition',
    requirement: 'R6',
    severity: 'error',
    errorCode: 'sourceImageInvalid',
    title: 'No recovery partition',
    fix: 'Keep remove_recovery_partition = true in the Packer template (it deletes the partition and extends C:).',
    evaluate: (facts) =>
      withSection(facts.partitions, ({ osDiskNumber, items }) => {
        if (items === null) return unverified('the partition list is absent');
        const onOsDisk = osDiskNumber === null ? items : items.filter((p) => p.diskNumber === osDiskNumber);
        if (onOsDisk.length === 0)
          return unverified(`no partitions listed on the OS disk ${osDiskNumber ?? ''}`.trim());
        const recovery = onOsDisk.filter(isRecovery);
        if (recovery.length > 0)
          return fail(
            `${recovery.length === 1 ? 'Recovery partition' : 'Recovery partitions'}: ${list(recovery.map(describePartition))}.`,
          );
        return pass(
          `No recovery partition on ${osDiskNumber === null ? 'any disk' : `disk ${osDiskNumber}`} (${onOsDisk.map((p) => `${p.partitionNumber}:${p.type}`).join(', ')}).`,
        );
      }),
  },
  {
    id: 'vm.bitlocker-off',
    requirement: 'R3',
    severity: 'error',
    errorCode: 'sysprep 0x80310039',
    title: 'BitLocker and device encryption off on every volume',
    fix: 'Turn BitLocker off on every volume (Disable-BitLocker, wait for FullyDecrypted) and keep device encryption from starting before sysprep.',
    evaluate: (facts) =>
      withSection(facts.bitLocker, ({ volumes }) => {
        if (volumes === null) return unverified('the volume list is absent');
        if (volumes.length === 0)
          return unverified('Get-BitLockerVolume listed no volumes, not even the OS volume');
        const encrypted = volumes.filter(
          (v) =>
            v.volumeStatus !== 'FullyDecrypted' || v.protectionStatus !== 'Off' || v.encryptionPercentage > 0,
        );
        if (encrypted.length > 0)
          return fail(
            `${list(encrypted.map((v) => `${v.mountPoint} (${v.volumeType}) is ${v.volumeStatus}, ${v.encryptionPercentage}% encrypted, protection ${v.protectionStatus}, method ${v.encryptionMethod}`))}.`,
          );
        return pass(`FullyDecrypted, protection Off: ${volumes.map((v) => v.mountPoint).join(', ')}.`);
      }),
  },
  {
    id: 'vm.no-pending-reboot',
    requirement: 'R3',
    severity: 'error',
    errorCode: 'sysprep: pending servicing operation',
    title: 'No pending reboot or servicing',
    fix: 'Restart the VM (windows-restart provisioner) after updates and installs, and wait for TiWorker to finish before sysprep.',
    evaluate: (facts) =>
      withSection(facts.pendingReboot, (p) => {
        // A pending reboot breaks sysprep; file renames and a busy TiWorker usually settle by themselves (sysprep.ps1
        // waits for TiWorker), so they only warn.
        const blocking: string[] = [];
        if (p.cbsRebootPending === true) blocking.push('Component Based Servicing\\RebootPending exists');
        if (p.windowsUpdateRebootRequired === true)
          blocking.push('WindowsUpdate\\Auto Update\\RebootRequired exists');
        const settling: string[] = [];
        if (p.pendingFileRenameOperations === true)
          settling.push(
            `${p.pendingFileRenameOperationsCount ?? 'some'} PendingFileRenameOperations entries`,
          );
        if (p.tiWorkerRunning === true)
          settling.push('TiWorker (Windows Modules Installer Worker) is running');
        if (blocking.length > 0) return fail(`${list([...blocking, ...settling])}.`);
        if (settling.length > 0)
          return { status: 'warn', detail: `${list(settling)}; sysprep waits for servicing to finish.` };
        const absent = (
          [
            'cbsRebootPending',
            'windowsUpdateRebootRequired',
            'pendingFileRenameOperations',
            'tiWorkerRunning',
          ] as const
        ).filter((k) => p[k] === null);
        if (absent.length > 0) return unverified(`${absent.join(', ')} absent`);
        return pass('No reboot pending (CBS, Windows Update, file renames) and TiWorker is not running.');
      }),
  },
  {
    id: 'vm.appx-provisioned',
    requirement: 'R3',
    severity: 'error',
    errorCode: 'sysprep 0x80073cf2',
    title: 'No AppX package installed for a user but not provisioned',
    fix: 'Remove the package for every user (Get-AppxPackage -AllUsers <name> | Remove-AppxPackage -AllUsers), e.g. with remove_appx_packages, or provision it for all users; then re-run.',
    evaluate: (facts) =>
      withSection(facts.appx, ({ userPackagesNotProvisioned }) => {
        if (userPackagesNotProvisioned === null) return unverified('the per-user package list is absent');
        const blocking = userPackagesNotProvisioned.filter(blocksSysprep);
        if (blocking.length > 0)
          return fail(
            `Installed for a user but not provisioned: ${list(blocking.map((p) => `${p.name} (${p.packageFullName}) for user ${p.userName ?? p.userSid ?? 'unknown'}`))}.`,
          );
        const ignored = userPackagesNotProvisioned.length;
        return pass(
          ignored === 0
            ? 'Every installed package is provisioned for all users.'
            : `Only framework or system packages are unprovisioned (${ignored} entries); sysprep ignores them.`,
        );
      }),
  },
  {
    id: 'vm.image-state',
    requirement: 'R3',
    severity: 'error',
    errorCode: 'sourceImageNotGeneralized',
    title: 'Image state fits the phase',
    fix: 'Start from a fresh VM of the base: a VM that was already generalized, or where sysprep failed half-way (IMAGE_STATE_UNDEPLOYABLE), cannot be sysprepped again.',
    evaluate: (facts, context) =>
      withSection(facts.imageState, ({ value }) => {
        if (value === null)
          return unverified(
            'ImageState is absent from HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State',
          );
        const expected = context.phase === 'pre-sysprep' ? PRE_SYSPREP_IMAGE_STATE : GENERALIZED_IMAGE_STATE;
        if (value === expected) return pass(`ImageState is ${value} (${context.phase}).`);
        const why =
          context.phase === 'post-capture'
            ? 'sysprep did not finish generalizing'
            : value === 'IMAGE_STATE_UNDEPLOYABLE'
              ? 'an earlier sysprep failed or is still running'
              : /GENERALIZE|SPECIALIZE/.test(value)
                ? 'sysprep already ran on this VM'
                : 'Windows setup is not complete';
        return fail(`ImageState is ${value}, expected ${expected} ${context.phase}: ${why}.`);
      }),
  },
  {
    id: 'vm.no-avd-fslogix',
    requirement: 'R12',
    severity: 'error',
    errorCode: 'sourceImageInvalid',
    title: 'No FSLogix or Azure Virtual Desktop agents',
    fix: 'Uninstall FSLogix and the AVD agents (RD Agent Boot Loader, RDS Infrastructure Agent, Geneva agent, SxS network stack) and build from windows-ent-cpc, not an AVD base.',
    evaluate: (facts) =>
      withSection(facts.avdAndFslogix, (a) => {
        const found: string[] = [];
        if (a.fslogixServicePresent === true) found.push('service frxsvc (FSLogix)');
        if (a.fslogixRegistryKeyPresent === true) found.push('HKLM\\SOFTWARE\\FSLogix');
        if (a.rdAgentBootLoaderServicePresent === true) found.push('service RDAgentBootLoader');
        for (const products of [
          a.fslogixProducts,
          a.rdAgentBootLoaderProducts,
          a.rdsInfrastructureAgentProducts,
          a.genevaAgentProducts,
          a.sxsNetworkStackProducts,
        ]) {
          for (const p of products ?? [])
            found.push(`${p.displayName}${p.displayVersion ? ` ${p.displayVersion}` : ''}`);
        }
        if (found.length > 0) return fail(`Found: ${list(found)}.`);
        const absent = Object.entries(a).filter(([, v]) => v === null);
        if (absent.length > 0) return unverified(`${absent.map(([k]) => k).join(', ')} absent`);
        return pass(
          'No FSLogix, RD Agent Boot Loader, RDS Infrastructure Agent, Geneva agent or SxS network stack.',
        );
      }),
  },
  {
    id: 'vm.start-menu-apps',
    requirement: 'R13',
    severity: 'error',
    errorCode: null,
    title: `At most ${MAX_START_APPS.toLocaleString('en-US')} Start-menu apps`,
    fix: `Remove applications or shortcuts until Get-StartApps lists at most ${MAX_START_APPS.toLocaleString('en-US')} entries.`,
    // A count that could not be taken is a warning: the limit is far above what a build adds, and a blocked build
    // over a missing count helps nobody.
    evaluate: (facts) => {
      if (!facts.startMenu.readable)
        return {
          status: 'warn',
          detail: `The Start-menu apps could not be counted: ${facts.startMenu.reason}.`,
        };
      return withSection(facts.startMenu, ({ appCount }) => {
        if (appCount === null) return { status: 'warn', detail: 'The Start-menu app count is absent.' };
        return appCount <= MAX_START_APPS
          ? pass(`${appCount} Start-menu apps.`)
          : fail(`${appCount} Start-menu apps, more than ${MAX_START_APPS}.`);
      });
    },
  },
  {
    id: 'vm.computer-name-customizable',
    requirement: 'R14',
    severity: 'error',
    errorCode: 'sourceImageNotSupportCustomizeVMName',
    title: 'Computer name not fixed by an answer file',
    fix: 'Remove custom answer files (unattend.xml) from the image; Windows 365 names each Cloud PC itself. Do not set HKLM\\SYSTEM\\Setup UnattendFile.',
    evaluate: (facts) =>
      withSection(facts.unattend, ({ setupUnattendFile, files }) => {
        if (files === null) return unverified('the answer-file list is absent');
        const problems: string[] = [];
        const removed: string[] = [];
        for (const file of files.filter((f) => f.exists)) {
          const fixed = file.computerNames.filter((n) => n.trim() !== '' && n.trim() !== '*');
          if (fixed.length === 0) continue;
          if (file.removedBeforeSysprep) removed.push(`${file.path} (ComputerName ${fixed.join(', ')})`);
          else problems.push(`${file.path} sets ComputerName ${fixed.join(', ')}`);
        }
        if (setupUnattendFile) {
          const deleted = files.some(
            (f) => f.removedBeforeSysprep && f.path.toLowerCase() === setupUnattendFile.toLowerCase(),
          );
          if (!deleted)
            problems.push(
              `HKLM\\SYSTEM\\Setup UnattendFile points to ${setupUnattendFile}, which stays in the image`,
            );
        }
        if (problems.length > 0) return fail(`${list(problems)}.`);
        return pass(
          removed.length > 0
            ? `No fixed name survives sysprep; the sysprep step deletes ${list(removed)}.`
            : 'No answer file sets ComputerName.',
        );
      }),
  },
  {
    id: 'vm.teams-components',
    requirement: 'Teams',
    severity: 'error',
    errorCode: null,
    title: 'Teams media optimization components present',
    fix: 'Keep the Teams step of the template (teams.ps1) or build from an -m365 base: IsWVDEnvironment = 1 (DWORD), VC++ x64 runtime, Remote Desktop WebRTC Redirector, new Teams provisioned, WebView2.',
    evaluate: (facts, context) => {
      if (!context.teamsRequested) return { status: 'skip', detail: 'Teams was not requested.' };
      return withSection(facts.teams, (t) => {
        const missing: string[] = [];
        if (
          t.isWvdEnvironment !== '1' ||
          (t.isWvdEnvironmentKind !== null && t.isWvdEnvironmentKind !== 'DWord')
        )
          missing.push(
            `HKLM\\SOFTWARE\\Microsoft\\Teams IsWVDEnvironment is ${t.isWvdEnvironment === null ? 'absent' : `${t.isWvdEnvironment} (${t.isWvdEnvironmentKind ?? '?'})`}, not 1 (DWord)`,
          );
        if (t.vcRedistX64Installed !== true) missing.push('Visual C++ x64 runtime not registered');
        if (t.webRtcServicePresent !== true)
          missing.push('service RDWebRTCSvc (Remote Desktop WebRTC Redirector) absent');
        if (t.msTeamsProvisioned !== true) missing.push('MSTeams is not provisioned for all users');
        if (t.webView2Version === null) missing.push('no per-machine WebView2 runtime');
        if (missing.length > 0) return fail(`${list(missing)}.`);
        return pass(
          `IsWVDEnvironment 1, VC++ ${t.vcRedistX64Version ?? '?'}, WebRTC Redirector (${t.webRtcServiceStartType ?? '?'}), MSTeams ${t.msTeamsProvisionedVersion ?? '?'}, WebView2 ${t.webView2Version}.`,
        );
      });
    },
  },
  {
    id: 'vm.generation-and-security-type',
    requirement: 'R2, R15',
    severity: 'error',
    errorCode: 'sourceImageInvalid',
    title: 'Generation 2 (UEFI) VM of the Standard security type',
    fix: 'Build from a Windows 11 (Gen2) base and leave security_type, secure_boot_enabled and vtpm_enabled unset: managed images cannot be captured from Trusted Launch VMs; Windows 365 turns on Secure Boot and vTPM itself.',
    evaluate: (facts) =>
      withSection(facts.buildVm, ({ securityType, firmware }) => {
        if (securityType === null || firmware === null)
          return unverified(`${securityType === null ? 'the security type' : 'the firmware type'} is absent`);
        const problems: string[] = [];
        if (firmware !== 'UEFI') problems.push(`firmware ${firmware} (a Generation 1 VM)`);
        if (securityType !== 'Standard') problems.push(`security type ${securityType}`);
        if (problems.length > 0) return fail(`The build VM runs with ${list(problems)}.`);
        return pass('UEFI (Generation 2), Standard security type.');
      }),
  },
  {
    id: 'vm.defender-not-onboarded',
    requirement: 'R5',
    severity: 'error',
    errorCode: null,
    title: 'Not onboarded to Defender for Endpoint',
    fix: 'Keep the build VM out of automatic onboarding (Defender for Servers, Azure Policy, a build script): an image onboarded once makes every Cloud PC report as the same device. Exclude the build resource group and rebuild.',
    evaluate: (facts) =>
      withSection(facts.buildVm, ({ defenderOnboardingState }) =>
        defenderOnboardingState === 1
          ? fail(
              'HKLM\\SOFTWARE\\Microsoft\\Windows Advanced Threat Protection\\Status OnboardingState is 1 (onboarded).',
            )
          : pass(
              defenderOnboardingState === null
                ? 'No Defender for Endpoint onboarding state.'
                : `OnboardingState ${defenderOnboardingState}.`,
            ),
      ),
  },
  {
    id: 'vm.no-vm-extensions',
    requirement: 'R12',
    severity: 'error',
    errorCode: null,
    title: 'No VM extensions pushed onto the build VM',
    fix: 'Exclude the build resource group from the Azure Policy or Defender for Servers plan that deploys VM extensions: their agents (C:\\Packages\\Plugins) would be captured into every Cloud PC.',
    evaluate: (facts) =>
      withSection(facts.buildVm, ({ vmExtensions }) => {
        if (vmExtensions === null) return unverified('the VM extension list is absent');
        return vmExtensions.length > 0
          ? fail(`C:\\Packages\\Plugins holds ${list(vmExtensions)}.`)
          : pass('C:\\Packages\\Plugins holds no VM extension.');
      }),
  },
  {
    id: 'vm.build-account-profile',
    requirement: 'R3',
    severity: 'warning',
    errorCode: null,
    title: 'Build account profile',
    fix: 'Nothing to do for a standard build: the profile of the build account (packer) stays in the image, empty. Do not sign in to the build VM or copy files into that profile: they would ship in every Cloud PC.',
    evaluate: (facts) =>
      withSection(facts.buildVm, ({ buildAccount, buildAccountProfilePresent }) =>
        buildAccountProfilePresent === true
          ? fail(`C:\\Users\\${buildAccount ?? '?'} exists and is captured into the image.`)
          : pass('No build account profile on the system drive.'),
      ),
  },
];

function isRecovery(p: Partition): boolean {
  const gpt = p.gptType?.replace(/[{}]/g, '').toLowerCase();
  return gpt === RECOVERY_GPT_TYPE || p.mbrType === RECOVERY_MBR_TYPE || p.type === 'Recovery';
}

function describePartition(p: Partition): string {
  const mb = Math.round(p.sizeBytes / 1_048_576);
  return `disk ${p.diskNumber} partition ${p.partitionNumber} (${p.type}, ${p.gptType ?? `MBR type 0x${(p.mbrType ?? 0).toString(16)}`}, ${mb} MB at offset ${p.offsetBytes})`;
}

/** Sysprep stops on removable, non-framework packages that a user has but the machine does not provision. */
function blocksSysprep(p: UserPackage): boolean {
  const installed = p.installState === 'Installed' || p.installState === 'Paused';
  return installed && !p.isFramework && !p.nonRemovable && p.signatureKind !== 'System';
}
