/** What a Windows 365 upload errorCode means and what the admin should do about it. */
export interface ErrorCodeHelp {
  cause: string;
  fix: string;
  /** Trying the same image again can succeed. */
  transient: boolean;
}

export const ERROR_CODES: Record<string, ErrorCodeHelp> = {
  internalServerError: {
    cause: 'Windows 365 hit an internal error while copying or testing the image.',
    fix: 'Retry the upload (Graph beta retryUpload, or re-run the job). If it keeps failing, open a Windows 365 support case with the device image ID.',
    transient: true,
  },
  sourceImageNotFound: {
    cause: 'Windows 365 could not find or read the managed image.',
    fix: "Check the image ID, and give the Windows 365 service principal (app 0af06dc6-e4b5-4f28-818e-e78e62d137a5) the Reader role on the image's subscription. The image must exist until the upload is ready.",
    transient: false,
  },
  osVersionNotSupported: {
    cause:
      'The Windows edition or build is not supported: it must be a supported Windows 10/11 Enterprise, single session, not N or LTSC.',
    fix: 'Build from MicrosoftWindowsDesktop/windows-ent-cpc (for example win11-25h2-ent-cpc), not a multi-session (avd), N or LTSC base.',
    transient: false,
  },
  sourceImageInvalid: {
    cause:
      'The image does not meet the Windows 365 requirements (for example Generation 1, a recovery partition, data disks, disk encryption or AVD/FSLogix components).',
    fix: 'Build a Generation 2 image with no recovery partition, data disks, disk encryption set or AVD/FSLogix agents; run this action with register: false to see which check fails.',
    transient: false,
  },
  sourceImageNotGeneralized: {
    cause: 'The image was captured without sysprep: it is Specialized.',
    fix: 'Run Sysprep /oobe /generalize /mode:vm as the last build step, then capture a Generalized managed image.',
    transient: false,
  },
  vmAlreadyAzureAdJoined: {
    cause:
      'The build VM was joined to Active Directory or Microsoft Entra ID, or enrolled in Intune or co-management.',
    fix: 'Build from a VM that was never joined or enrolled; remove join and enrollment steps from the build.',
    transient: false,
  },
  paidSourceImageNotSupport: {
    cause: 'The image was built from a paid Marketplace image with a purchase plan.',
    fix: 'Build from MicrosoftWindowsDesktop/windows-ent-cpc, which has no purchase plan.',
    transient: false,
  },
  sourceImageNotSupportCustomizeVMName: {
    cause: 'Windows 365 cannot set the computer name: the image fixes it (for example in an unattend file).',
    fix: 'Remove ComputerName settings and custom unattend files before sysprep.',
    transient: false,
  },
  sourceImageSizeExceedsLimitation: {
    cause: 'The OS disk is larger than the 64 GB Windows 365 accepts.',
    fix: 'Build with the default 64 GB OS disk (do not set os_disk_size_gb above 64).',
    transient: false,
  },
  unknownFutureValue: {
    cause:
      'Graph reported an error code this client was not told about (the request lacked Prefer: include-unknown-enum-members, or Graph added a new value).',
    fix: "Look at the device image in Intune for the detailed status, and check this tool's troubleshooting guide for updates.",
    transient: false,
  },
};

export function explainErrorCode(code: string | null | undefined): ErrorCodeHelp {
  if (code && Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code] as ErrorCodeHelp;
  return {
    cause: `Windows 365 reported error code '${code ?? 'none'}', which this version of w365-image does not know.`,
    fix: 'Look at the device image in Intune for details; update w365-image.',
    transient: false,
  };
}
