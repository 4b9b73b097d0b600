import type { Catalog } from '../messages.js';

export default {
  '# {0}. {1}\n\n(The lesson text {2} is missing from this installation.)\n': '# {0}. {1}\n\n（这份安装里缺少课文 {2}。）\n',
  'Step {0}: {1}': '第 {0} 步：{1}',
  'The steps, as commands you could type': '这些步骤，写成你可以输入的命令',
} satisfies Catalog;
